"""
fakesmtp.py - a scripted SMTP server on loopback for the fault tests.

Plain SMTP (no TLS) on 127.0.0.1 and a free port, one thread per connection.
It speaks enough ESMTP for libcurl (EHLO, optional AUTH PLAIN/LOGIN, MAIL,
RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) and can be told, per
command, to answer something else, to answer late, or to hang up:

    srv = FakeSMTP()                  # started; srv.port, srv.url
    srv.script(greeting="421 4.3.2 Service not available, closing channel")
    srv.script(rcpt="451 4.3.0 Try again later")
    srv.script(data="452 4.3.1 Insufficient system storage")   # DATA command
    srv.script(eod="554 5.7.1 Message rejected as spam")       # after "."
    srv.script(delay={"greeting": 5})  # seconds before that reply
    srv.script(drop_in_data=4096)      # hang up after 4096 bytes of message
    srv.script(refuse_after=(3, "550 5.4.5 Daily user sending limit exceeded."))
                                       # accept 3 messages, then refuse each
                                       # one after "." (a quota, as Gmail)
    srv.script()                       # back to accepting everything
    srv.stop()

ExchangeLike below is an on_data hook that rewrites Message-IDs as
Exchange Online does (see its comment).

A reply may be a string ("451 ...", multi-line with "\\n") or a list of
strings used one per occurrence, then the default ("250 ..."): e.g.
rcpt=["451 4.3.0 busy"] refuses the first RCPT only.

What it saw, for the checks:
    srv.messages      every DATA received completely (up to the final "."),
                      whatever was answered: Message objects with mail_from,
                      rcpts, data (bytes, unstuffed, CRLF), accepted (bool:
                      answered 250), message_id, and conn (connection number)
    srv.delivered()   the accepted ones
    srv.partial       data of transfers cut in the middle (bytes each)
    srv.commands      every command line received, in order
                      (conn number, line as str; AUTH blobs included: the
                      tests look for them in what infoviewd logs, not here)
    srv.connections   how many connections were accepted
    srv.auth          (user, password) of each successful AUTH

Command line (for trying things by hand):
    fakesmtp.py [PORT]   serves on 127.0.0.1:PORT (0 = any) and prints
                         each message received
"""

import base64
import email
import email.policy
import re
import socketserver
import sys
import threading
import time
import uuid

DEFAULT_REPLIES = {
    "greeting": "220 fakesmtp.test ESMTP ready",
    "ehlo": None,                      # built from the capabilities
    "helo": "250 fakesmtp.test",
    "mail": "250 2.1.0 Ok",
    "rcpt": "250 2.1.5 Ok",
    "data": "354 End data with <CR><LF>.<CR><LF>",
    "eod": "250 2.0.0 Ok: queued as FAKE%d",
    "rset": "250 2.0.0 Ok",
    "noop": "250 2.0.0 Ok",
    "quit": "221 2.0.0 Bye",
    "auth": "235 2.7.0 Authentication successful",
}

LINE_MAX = 1 << 20
IO_TIMEOUT = 60


class Message:
    def __init__(self, conn, mail_from, rcpts, data, accepted, reply):
        self.conn = conn
        self.mail_from = mail_from
        self.rcpts = list(rcpts)
        self.data = data
        self.accepted = accepted
        self.reply = reply
        self.msg = email.message_from_bytes(data, policy=email.policy.compat32)
        self.message_id = (self.msg.get("Message-ID") or "").strip()
        self.subject = str(self.msg.get("Subject") or "")

    def __repr__(self):
        return "<Message %s to %s %s>" % (self.message_id, self.rcpts,
                                          "accepted" if self.accepted
                                          else "refused: " + self.reply)


class _Hangup(Exception):
    pass


class FakeSMTP:
    """The server; started by the constructor. auth: a {user: password}
    dict to offer AUTH (mechanisms in auth_mechs) and check credentials;
    None offers no AUTH. on_data: called with each complete message (a
    Message) before the reply to its end of data; what it returns, when
    not None, is that reply (a relay, a rewriting server)."""

    def __init__(self, port=0, auth=None, auth_mechs=("PLAIN",),
                 on_data=None):
        self.on_data = on_data
        self.auth_users = dict(auth) if auth else None
        self.auth_mechs = tuple(auth_mechs)
        self.lock = threading.Lock()
        self.messages = []
        self.partial = []
        self.commands = []
        self.auth = []
        self.connections = 0
        self._queued = 0
        self.script()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                outer._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self.url = "smtp://127.0.0.1:%d" % self.port
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    # --- the script ----------------------------------------------------------

    def script(self, delay=None, drop_in_data=None, drop_after=None,
               refuse_after=None, **replies):
        """Sets how the next commands are answered (everything not named
        gets the default). delay: {command: seconds}. drop_in_data: hang up
        after that many bytes of message data (no reply). drop_after: a
        command after which the server hangs up without replying.
        refuse_after: (n, reply): the end of data of every message after
        the first n accepted from now on is answered with reply."""
        for k in replies:
            if k not in DEFAULT_REPLIES:
                raise ValueError("unknown reply %r" % k)
        with self.lock:
            self._replies = {k: (list(v) if isinstance(v, (list, tuple)) else v)
                             for k, v in replies.items()}
            self._delay = dict(delay or {})
            self._drop_in_data = drop_in_data
            self._drop_after = drop_after
            self._refuse_after = refuse_after
            self._accepted_since_script = 0

    def reset(self):
        """Forgets what was received (the script stays)."""
        with self.lock:
            self.messages = []
            self.partial = []
            self.commands = []
            self.auth = []
            self.connections = 0

    def delivered(self):
        with self.lock:
            return [m for m in self.messages if m.accepted]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    # --- serving ---------------------------------------------------------------

    def _reply_for(self, what):
        with self.lock:
            v = self._replies.get(what)
            if isinstance(v, list):
                v = v.pop(0) if v else None
            delay = self._delay.get(what, 0)
        if v is None and what == "eod" and self._refuse_after:
            with self.lock:
                if self._accepted_since_script >= self._refuse_after[0]:
                    v = self._refuse_after[1]
        if v is None:
            v = DEFAULT_REPLIES[what]
            if what == "eod":
                with self.lock:
                    self._queued += 1
                    v = v % self._queued
        return v, delay

    def _send(self, sock, what, text=None):
        """Sends the scripted reply for `what` (or text); returns it."""
        delay = 0
        if text is None:
            text, delay = self._reply_for(what)
        if delay:
            time.sleep(delay)
        lines = text.split("\n")
        code = lines[0][:3]
        out = []
        for i, l in enumerate(lines):
            if i > 0 and not re.match(r"^\d{3}[ -]", l):
                l = code + " " + l
            sep = " " if i == len(lines) - 1 else "-"
            out.append(l[:3] + sep + l[4:] if len(l) >= 4 else l)
        try:
            sock.sendall(("\r\n".join(out) + "\r\n").encode())
        except OSError:
            raise _Hangup()
        return text

    def _ehlo_text(self):
        caps = ["250-fakesmtp.test", "250-PIPELINING", "250-SIZE 52428800",
                "250-8BITMIME", "250-ENHANCEDSTATUSCODES"]
        if self.auth_users is not None:
            caps.append("250-AUTH " + " ".join(self.auth_mechs))
        caps.append("250 SMTPUTF8")
        return "\n".join(caps)

    def _dropping(self, what):
        with self.lock:
            return self._drop_after == what

    def _serve(self, sock):
        sock.settimeout(IO_TIMEOUT)
        with self.lock:
            self.connections += 1
            conn = self.connections
        rf = sock.makefile("rb")

        def readline():
            line = rf.readline(LINE_MAX)
            if not line:
                raise _Hangup()
            return line

        mail_from, rcpts = None, []
        try:
            g = self._send(sock, "greeting")
            if not g.startswith("2"):
                return          # 421 and similar: the server closes
            while True:
                raw = readline()
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self.lock:
                    self.commands.append((conn, line))
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb):].strip()
                if verb == "EHLO":
                    text, delay = self._reply_for("ehlo")
                    if delay:
                        time.sleep(delay)
                    self._send(sock, "ehlo", text or self._ehlo_text())
                elif verb == "HELO":
                    self._send(sock, "helo")
                elif verb == "AUTH":
                    self._auth(sock, readline, conn, arg)
                elif verb == "MAIL":
                    if self._dropping("mail"):
                        return
                    r = self._send(sock, "mail")
                    if r.startswith("2"):
                        m = re.search(r"<([^>]*)>", arg)
                        mail_from, rcpts = (m.group(1) if m else arg), []
                elif verb == "RCPT":
                    if self._dropping("rcpt"):
                        return
                    r = self._send(sock, "rcpt")
                    if r.startswith("2"):
                        m = re.search(r"<([^>]*)>", arg)
                        rcpts.append(m.group(1) if m else arg)
                elif verb == "DATA":
                    if self._dropping("data"):
                        return
                    if mail_from is None or not rcpts:
                        self._send(sock, None, "503 5.5.1 Error: need RCPT "
                                   "command")
                        continue
                    r = self._send(sock, "data")
                    if not r.startswith("3"):
                        continue
                    data = self._read_data(readline)
                    if data is None:
                        return
                    if self._dropping("eod"):
                        # complete, but never answered
                        with self.lock:
                            self.messages.append(Message(
                                conn, mail_from, rcpts, data, False,
                                "(hung up)"))
                        return
                    hook = self.on_data
                    text = hook(Message(conn, mail_from, rcpts, data, True,
                                        "")) if hook else None
                    r = self._send(sock, "eod", text)
                    with self.lock:
                        if r.startswith("2"):
                            self._accepted_since_script += 1
                        self.messages.append(Message(conn, mail_from, rcpts,
                                                     data, r.startswith("2"),
                                                     r))
                    mail_from, rcpts = None, []
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    self._send(sock, "rset")
                elif verb == "NOOP":
                    self._send(sock, "noop")
                elif verb == "QUIT":
                    self._send(sock, "quit")
                    return
                else:
                    self._send(sock, None, "502 5.5.2 Error: command not "
                               "recognized")
        except (_Hangup, OSError):
            return
        finally:
            try:
                rf.close()
                sock.close()
            except OSError:
                pass

    def _read_data(self, readline):
        """The message up to "."; None when the script cut it (the bytes
        read so far go to self.partial) or the client went away."""
        with self.lock:
            limit = self._drop_in_data
        buf = bytearray()
        try:
            while True:
                line = readline()
                if line in (b".\r\n", b".\n"):
                    return bytes(buf)
                if line.startswith(b"."):
                    line = line[1:]
                buf += line
                if limit is not None and len(buf) >= limit:
                    with self.lock:
                        self.partial.append(bytes(buf))
                    return None
        except _Hangup:
            with self.lock:
                self.partial.append(bytes(buf))
            return None

    def _auth(self, sock, readline, conn, arg):
        if self.auth_users is None:
            self._send(sock, None, "502 5.5.1 AUTH not supported")
            return
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        user = password = None
        try:
            if mech == "PLAIN":
                if len(parts) > 1:
                    blob = parts[1]
                else:
                    self._send(sock, None, "334 ")
                    blob = readline().decode().strip()
                    with self.lock:
                        self.commands.append((conn, blob))
                fields = base64.b64decode(blob).split(b"\0")
                if len(fields) == 3:
                    user, password = fields[1].decode(), fields[2].decode()
            elif mech == "LOGIN":
                self._send(sock, None, "334 VXNlcm5hbWU6")
                u = readline().strip()
                self._send(sock, None, "334 UGFzc3dvcmQ6")
                p = readline().strip()
                with self.lock:
                    self.commands.extend([(conn, u.decode()), (conn, p.decode())])
                user = base64.b64decode(u).decode()
                password = base64.b64decode(p).decode()
            else:
                self._send(sock, None, "504 5.5.4 Unrecognized authentication "
                           "type")
                return
        except (ValueError, UnicodeDecodeError):
            self._send(sock, None, "501 5.5.2 Cannot decode response")
            return
        if user is not None and self.auth_users.get(user) == password:
            with self.lock:
                self.auth.append((user, password))
            self._send(sock, "auth")
        else:
            self._send(sock, None, "535 5.7.8 Error: authentication failed")


class ExchangeLike:
    """An on_data hook that makes FakeSMTP a submission server that rewrites
    Message-IDs as Exchange Online and Outlook.com do: each accepted message
    gets a new Message-ID, ours is kept in X-Microsoft-Original-Message-ID,
    the rewritten message goes on through deliver(raw, rcpts) (e.g. to the
    real Postfix) and its copy is filed by file_sent(raw) (e.g. an IMAP
    APPEND to "Sent Items"); the 250 reply to the end of data names the new
    id ("250 2.6.0 <id> [InternalId=...] Queued mail for delivery"), or,
    with name_id False, none (the id is then only in the Sent copy); with
    keep_original False the copy does not name ours either (it is ours
    only by content).

        relay = ExchangeLike(deliver, file_sent)
        srv = FakeSMTP(on_data=relay)
        relay.rewritten          {our Message-ID: the server's}
    """

    HOST = "PH0PR01MB0001.namprd01.prod.exchangelabs.test"

    def __init__(self, deliver, file_sent, name_id=True, keep_original=True):
        self.deliver = deliver
        self.file_sent = file_sent
        self.name_id = name_id
        self.keep_original = keep_original
        self.rewritten = {}

    def __call__(self, m):
        head, sep, body = m.data.partition(b"\r\n\r\n")
        out, skip = [], False
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and skip:
                continue        # a folded Message-ID goes with it
            skip = line.lower().startswith(b"message-id:")
            if not skip:
                out.append(line)
        new = "<%s@%s>" % (uuid.uuid4().hex.upper(), self.HOST)
        out.append(b"Message-ID: " + new.encode())
        if self.keep_original:
            out.append(b"X-Microsoft-Original-Message-ID: " +
                       m.message_id.encode())
        raw = b"\r\n".join(out) + sep + body
        self.deliver(raw, m.rcpts)
        self.file_sent(raw)
        self.rewritten[m.message_id] = new
        if not self.name_id:
            return "250 2.0.0 OK Queued mail for delivery"
        return "250 2.6.0 %s [InternalId=%d, Hostname=%s] %d bytes in " \
            "0.012, 512 KB/sec Queued mail for delivery" % (
                new, len(self.rewritten), self.HOST, len(raw))


def _main(argv):
    port = int(argv[1]) if len(argv) > 1 else 0
    srv = FakeSMTP(port)
    print("listening on %s" % srv.url, flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            for m in srv.messages[seen:]:
                print(repr(m), flush=True)
            seen = len(srv.messages)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    _main(sys.argv)
