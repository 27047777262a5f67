unit-tests += http
unit-http-srcs := firmware/web/http.c $(core-srcs)
