// Umbrella header of the CWalkSupport module.
#include "walksupport.h"
#include "walkipi.h"
#include "walkperf.h"
#include "walkevents.h"
#include "walkvalgrind.h"
