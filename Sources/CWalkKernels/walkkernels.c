// The plain build of the C callback walker (see walk_impl.h): hook calls are plain indirect calls.
#define WK_PREFIX wk_plain_
#include "walk_impl.h"
