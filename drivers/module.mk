# The hardware edge. The watchdog, LED and button drivers are always built: Kconfig decides
# whether the board uses them by default, and natterd's options can switch them on at run time.
drivers-srcs := drivers/watchdog.c drivers/led.c drivers/button.c
natterd-srcs += $(drivers-srcs)
