#ifndef NATTER_WEB_WEB_H
#define NATTER_WEB_WEB_H
/*
 * The box's web page: an HTTPS listener with the box's certificate (the first-run page
 * today; the admin pages, BOSH and WebSocket come later) and a plain HTTP listener that only
 * sends browsers on to HTTPS, so no password crosses the network in the clear. It runs in
 * the event loop like the rest, and every request is bounded in size and in time.
 *
 * The first-run page is open while the box has no account, and for CONFIG_NT_SETUP_WINDOW_S
 * after a short press of the reset button (web_setup_reopen). It takes the setup code
 * (core/setupcode.h) and makes an admin account, or gives an existing admin a new password.
 */
struct natterd;

/* Listens on d->opt.https_port and d->opt.http_port (0: that one stays off). NT_OK, or
 * net_listen's error (logged). */
int  web_start(struct natterd *d);
/* Every tick: a browser that takes longer than CONFIG_NT_HTTP_TIMEOUT_MS to send a request
 * gets 408; a kept-alive connection idle that long is closed. */
void web_sweep(struct natterd *d);
/* Shutdown: closes every web connection after what is queued for it. */
void web_close_all(struct natterd *d);
/* After net_loop_free(): frees what web_start() made. NULL-safe on d->web. */
void web_stop(struct natterd *d);

/* Opens the first-run page for the setup window (the reset button's short press). */
void web_setup_reopen(struct natterd *d);
/* 1 while the first-run page is open, 0 when not, or the store's error. */
int  web_setup_is_open(struct natterd *d);
#endif
