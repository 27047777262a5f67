#ifndef NATTER_CORE_KCONFIG_H
#define NATTER_CORE_KCONFIG_H
/* IS_ENABLED(CONFIG_X): 1 when bool symbol X is set, 0 otherwise; usable in if (). */
#include "autoconf.h"
#define NT__ARG_PLACEHOLDER_1 0,
#define NT__TAKE_SECOND(ignored, val, ...) val
#define NT__IS_DEFINED3(arg1_or_junk) NT__TAKE_SECOND(arg1_or_junk 1, 0, 0)
#define NT__IS_DEFINED2(val) NT__IS_DEFINED3(NT__ARG_PLACEHOLDER_##val)
#define IS_ENABLED(option) NT__IS_DEFINED2(option)
#endif
