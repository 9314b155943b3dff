import Foundation
import PackagePlugin

/// Embeds the checkout's git revision in the WalkBench module at build time (`embeddedGitRevision`),
/// so every row names the commit its binary was built from, wherever the binary runs (a stripped copy
/// on another machine included). Runs before every build; the file is rewritten only when the
/// revision changed, so an unchanged checkout rebuilds nothing.
@main struct GitRevision: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedGitRevision.swift")
        let script = """
            rev=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || rev=unknown
            [ -n "$rev" ] || rev=unknown
            if [ "$rev" != unknown ] && [ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null)" ]; then rev="$rev-dirty"; fi
            printf '/// The git revision this module was built from (Plugins/GitRevision).\\npublic let embeddedGitRevision = "%s"\\n' "$rev" > "$2.new"
            if cmp -s "$2.new" "$2"; then rm -f "$2.new"; else mv "$2.new" "$2"; fi
            """
        return [.prebuildCommand(displayName: "Embedding the git revision",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "sh", context.package.directoryURL.path, output.path],
                                 outputFilesDirectory: context.pluginWorkDirectoryURL)]
    }
}
