unit-tests += base64
unit-base64-srcs := firmware/core/base64.c $(core-srcs)
