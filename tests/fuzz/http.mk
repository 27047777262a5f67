fuzz-targets += http
fuzz-http-srcs := firmware/web/http.c $(core-srcs)
