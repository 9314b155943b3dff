#include "walkevents.h"

long long wb_events[WB_EVENT_COUNT];
