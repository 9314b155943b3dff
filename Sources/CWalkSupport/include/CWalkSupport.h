// Umbrella header of the CWalkSupport module.
#include "walksupport.h"
#include "walkipi.h"
