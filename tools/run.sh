#!/usr/bin/env bash
# make run: start natterd in the foreground for domain "localhost", data in BUILD/run.
set -eu
build=${1:-build}
# A cross build (make run ARCH=arm64) runs under qemu-user: NATTER_EXEC="qemu-aarch64".
exec_prefix=${NATTER_EXEC:+$NATTER_EXEC }
data="$build/run"
mkdir -p "$data"
cat <<MSG

  natter is starting for the domain "localhost"; its data lives in $data.

  1. Open https://localhost:5281/ in a browser (accept the self-signed certificate: its
     fingerprint is on the page and in the log below), type the setup code from the log
     below, and make the admin account. Or, in another terminal, add an account (you will
     be asked for a password):
       $exec_prefix$build/natterctl --datadir $data adduser alice@localhost
  2. Point an XMPP client (Gajim, Profanity, Dino, ...) at it:
       account   alice@localhost
       server    127.0.0.1 (or this machine's address), port 5222 (STARTTLS)
                 or port 5223 (direct TLS)
     The certificate is self-signed; accept it when the client asks. Its fingerprint is in
     the log below. In profanity:
       /connect alice@localhost server 127.0.0.1 port 5222 tls force
  3. Stop the server with Ctrl-C.

MSG
# On a developer's machine natterd runs as whoever runs `make run`; on a board it is started
# as root and drops to its own user (see board/).
exec ${NATTER_EXEC:-} "$build/natterd" --datadir "$data" --domain localhost --user "$(id -un)"
