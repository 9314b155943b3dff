import Testing
@testable import WalkBench

@Suite struct CSVTests {
    @Test func plainFieldsAreNotQuoted() {
        #expect(CSV.line(["a", "b c", "1.5"]) == "a,b c,1.5\n")
    }

    @Test func specialCharactersAreQuotedPerRFC4180() {
        #expect(CSV.field("AMD EPYC, 2 cores") == "\"AMD EPYC, 2 cores\"")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.field("two\nlines") == "\"two\nlines\"")
        #expect(CSV.field("cr\r") == "\"cr\r\"")
    }

    @Test func parseRoundTrips() {
        let rows = [["run_id", "cpu_model", "note"], ["1", "AMD EPYC, \"Milan\"", "a\nb"], ["2", "", "x"]]
        let text = rows.map(CSV.line).joined()
        #expect(CSV.parse(text) == rows)
    }

    @Test func headerHasTheFrozenLeadingColumnsFirst() {
        #expect(Columns.all.prefix(Columns.leading.count).elementsEqual(Columns.leading))
        #expect(Columns.leading.first == "run_id" && Columns.leading.last == "oracle")
        #expect(Set(Columns.all).count == Columns.all.count)
    }

    @Test func numbersArePlainDecimal() {
        #expect(ResultRow.number(1234567.0, digits: 0) == "1234567")
        #expect(ResultRow.number(0.000012, digits: 3) == "0")
        #expect(ResultRow.number(12.5) == "12.5")
        #expect(ResultRow.number(1e20, digits: 0) == "100000000000000000000")
        #expect(ResultRow.number(.nan) == nil)
        #expect(ResultRow.number(nil) == nil)
    }
}
