#!/usr/bin/env python3
"""An SSH client built on paramiko, as attack scripts use it, for the integration tests.

Prints one JSON object per line so the Rust tests can read what the client saw.

  passwords HOST PORT USER PW...   one connection, one password attempt per PW
  default-passwords HOST PORT USER PW...
                                   the same on paramiko's default Transport
  sshclient HOST PORT USER PW KEY  SSHClient.connect with a key file and a password, as most
                                   attack scripts call it: the key is tried, then the password
  kbd HOST PORT USER               one keyboard-interactive attempt
  lowpoint HOST PORT HEX           a curve25519 key exchange that sends the 32-byte point HEX
                                   as the client's key (a low-order point forces a known secret)
  change HOST PORT USER OLD NEW PW  a password request that asks to change OLD to NEW, then an
                                   ordinary attempt with PW on the same connection
  hostbound HOST PORT USER KEY      two `publickey-hostbound-v00@openssh.com` queries for KEY, as
                                   OpenSSH 8.9 and later send them: the first names the server's
                                   host key, the second another key; prints the extensions the
                                   server listed, then each answer
  ping HOST PORT USER PW DATA      a PING before login and one after, each with DATA; prints
                                   the PONG data each got within a second (or null)
  extinfo HOST PORT USER ASK PW... one password attempt per PW after sending, if ASK is 1, the
                                   client EXT_INFO of OpenSSH 9.6 and later
                                   (ext-info-in-auth@openssh.com); twice if ASK is 2; once, from
                                   a KEXINIT without ext-info-c, if ASK is no-ext-info-c; prints
                                   the sequence numbers those went out with, the UNIMPLEMENTED
                                   answers, each EXT_INFO the server sent with how many
                                   answers had come before it and when (seconds since the first
                                   attempt began; null before it), and when each answer came
  unknown HOST PORT USER SECRET PROBE...
                                   for each PROBE, PHASE/TYPE, a connection that sends one
                                   message of type TYPE after key exchange (PHASE kex), after the
                                   ssh-userauth service is accepted (auth), or after logging in as
                                   USER with the password SECRET (session) or the private key
                                   file SECRET (session-key); its body is a string, a word and a
                                   byte, or for TYPE N:TEXT the string TEXT alone. Prints, per
                                   probe, the sequence number it went out with, the UNIMPLEMENTED
                                   or DISCONNECT that came back within a second (or null), and
                                   whether the connection is still up
  badlength HOST PORT CIPHER MAC LEN...
                                   for each LEN, a connection that negotiates CIPHER and MAC,
                                   then sends one encrypted packet whose length field is LEN
                                   (padding length 4, an IGNORE, zeros); prints the DISCONNECT that
                                   came back within a second (or null) and whether the
                                   connection is still up
  shell HOST PORT USER PW CMD...   log in, open a shell with a pty, type each CMD, then exit
  exec HOST PORT USER PW CMD       log in and run CMD as an exec request
  hold HOST PORT N                 N connections through key exchange, held open until stdin
                                   closes (or 60 s pass)

Most modes use paramiko's ServiceRequestingTransport, which asks for the ssh-userauth service
once, as OpenSSH's client does. paramiko's default Transport (SSHClient's too) asks again before
every attempt, as sshd allows; `default-passwords` and `sshclient` use it.
"""

import json
import socket
import struct
import sys
import threading
import time

import paramiko
from paramiko.auth_handler import AuthOnlyHandler
from paramiko.common import cMSG_USERAUTH_REQUEST
from paramiko.message import Message


def out(**fields):
    print(json.dumps(fields), flush=True)


class EventFirstAuthHandler(AuthOnlyHandler):
    """AuthOnlyHandler with its reply event made before the request is sent.

    paramiko (3.2 to 5.1 at least) makes the event only after sending, so a reply that arrives
    in between sets no event and the client sits out its 30 s auth timeout. With no failure
    delay the decoy answers in a few milliseconds, and on a busy machine the client thread
    loses that race now and then. The request sent is byte for byte paramiko's own.
    """

    def send_auth_request(self, username, method, finish_message=None):
        self.auth_method = method
        self.username = username
        m = Message()
        m.add_byte(cMSG_USERAUTH_REQUEST)
        m.add_string(username)
        m.add_string("ssh-connection")
        m.add_string(method)
        finish_message(m)
        event = self.auth_event = threading.Event()
        with self.transport.lock:
            self.transport._send_message(m)
        return self.wait_for_response(event)


class Transport(paramiko.ServiceRequestingTransport):
    def get_auth_handler(self):
        return EventFirstAuthHandler(self)


def transport(host, port):
    sock = socket.create_connection((host, int(port)), timeout=20)
    t = Transport(sock)
    t.start_client(timeout=20)
    return t


def passwords(host, port, user, *pws, t=None):
    t = t or transport(host, port)
    out(server=t.remote_version)
    for i, pw in enumerate(pws, 1):
        started = time.monotonic()
        try:
            t.auth_password(user, pw)
            out(attempt=i, result="accepted")
        except Exception as e:  # the type and text are what the test checks
            out(attempt=i, result="refused", error=type(e).__name__, message=str(e),
                active=t.is_active(), seconds=round(time.monotonic() - started, 3))
    t.close()


def default_passwords(host, port, user, *pws):
    t = paramiko.Transport(socket.create_connection((host, int(port)), timeout=20))
    t.start_client(timeout=20)
    passwords(host, port, user, *pws, t=t)


def sshclient(host, port, user, pw, key):
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    started = time.monotonic()
    try:
        c.connect(host, int(port), username=user, password=pw, key_filename=key,
                  look_for_keys=False, allow_agent=False, timeout=20, auth_timeout=20)
        out(result="accepted")
    except Exception as e:
        out(result="refused", error=type(e).__name__, message=str(e),
            seconds=round(time.monotonic() - started, 3))
    c.close()


def change(host, port, user, old, new, pw):
    t = transport(host, port)
    t.ensure_session()

    def finish(m):
        m.add_boolean(True)  # RFC 4252 section 8: the client asks to change its password
        m.add_string(old)
        m.add_string(new)

    for i, attempt in enumerate([
        lambda: t.auth_handler.send_auth_request(user, "password", finish),
        lambda: t.auth_password(user, pw),
    ], 1):
        try:
            attempt()
            out(attempt=i, result="accepted")
        except paramiko.BadAuthenticationType as e:
            out(attempt=i, result="refused", error=type(e).__name__, allowed=e.allowed_types)
        except Exception as e:
            out(attempt=i, result="refused", error=type(e).__name__, message=str(e),
                active=t.is_active())
    t.close()


def lowpoint(host, port, point):
    from paramiko import kex_curve25519
    from paramiko.message import Message as Msg

    def start_kex(self):
        self.key = kex_curve25519.X25519PrivateKey.generate()
        m = Msg()
        m.add_byte(kex_curve25519.c_MSG_KEXECDH_INIT)
        m.add_string(bytes.fromhex(point))
        self.transport._send_message(m)
        self.transport._expect_packet(kex_curve25519._MSG_KEXECDH_REPLY)

    kex_curve25519.KexCurve25519.start_kex = start_kex
    t = paramiko.Transport(socket.create_connection((host, int(port)), timeout=20))
    t.get_security_options().kex = ["curve25519-sha256@libssh.org"]
    try:
        t.start_client(timeout=20)
        out(result="key exchange completed")
    except Exception as e:
        out(result="refused", error=type(e).__name__, active=t.is_active())
    t.close()


def hostbound(host, port, user, keyfile):
    t = transport(host, port)
    key = paramiko.Ed25519Key.from_private_key_file(keyfile)
    t.ensure_session()
    answers = []

    def query(host_key):
        def finish(m):
            m.add_boolean(False)  # a query: no signature
            m.add_string(key.get_name())
            m.add_string(key.asbytes())
            m.add_string(host_key)
        return finish

    for i, host_key in enumerate([t.get_remote_server_key().asbytes(), key.asbytes()], 1):
        try:
            t.auth_handler.send_auth_request(user, "publickey-hostbound-v00@openssh.com",
                                             query(host_key))
            answers.append(dict(attempt=i, result="accepted"))
        except paramiko.BadAuthenticationType as e:
            answers.append(dict(attempt=i, result="refused", error=type(e).__name__,
                                allowed=e.allowed_types))
        except Exception as e:
            time.sleep(0.5)  # a closed connection shows once the reader thread sees it
            answers.append(dict(attempt=i, result="refused", error=type(e).__name__,
                                active=t.is_active()))
    # Read only now: EXT_INFO may arrive after start_client returns, never after an answer.
    out(extensions={k: v.decode() for k, v in t.server_extensions.items()})
    for a in answers:
        out(**a)
    t.close()


def ping(host, port, user, pw, data):
    t = transport(host, port)
    pongs = []
    got = threading.Event()

    def pong(m):
        pongs.append(m.get_string().decode())
        got.set()

    t._handler_table[193] = pong  # SSH2_MSG_PONG, which paramiko does not know

    def send_ping():
        got.clear()
        m = Message()
        m.add_byte(bytes([192]))  # SSH2_MSG_PING
        m.add_string(data)
        t._send_message(m)
        return pongs[-1] if got.wait(1) else None

    before = send_ping()
    t.auth_password(user, pw)
    out(before_login=before, after_login=send_ping(), active=t.is_active())
    t.close()


def extinfo(host, port, user, ask, *pws):
    sock = socket.create_connection((host, int(port)), timeout=20)
    t = Transport(sock)
    seen = []
    answers = []
    answered_at = []
    started = []

    def since_first_attempt():
        return round(time.monotonic() - started[0], 3) if started else None

    def ext_info(m):
        n = m.get_int()
        names = [(m.get_text(), m.get_string()) for _ in range(n)]
        seen.append(dict(names=[k for k, _ in names], after_answers=len(answers),
                         at=since_first_attempt()))

    unimplemented = []
    sent_seqs = []
    t._handler_table[7] = ext_info  # SSH2_MSG_EXT_INFO
    t._handler_table[3] = lambda m: unimplemented.append(m.get_int())  # UNIMPLEMENTED
    if ask == "no-ext-info-c":
        # paramiko appends ext-info-c to a list it builds with list(); a list that will not
        # take it leaves the KEXINIT without it (and the exchange hash consistent).
        class WithoutExtInfoC(list):
            def append(self, name):
                if name != "ext-info-c":
                    super().append(name)

        paramiko.transport.list = WithoutExtInfoC
    try:
        t.start_client(timeout=20)
    finally:
        if ask == "no-ext-info-c":
            del paramiko.transport.list
    for _ in range({"0": 0, "1": 1, "2": 2, "no-ext-info-c": 1}[ask]):
        m = Message()
        m.add_byte(bytes([7]))
        m.add_int(1)
        m.add_string("ext-info-in-auth@openssh.com")
        m.add_string("0")
        sent_seqs.append(t.packetizer._Packetizer__sequence_number_out)
        t._send_message(m)
    for pw in pws:
        if not started:
            started.append(time.monotonic())
        try:
            t.auth_password(user, pw)
            answers.append("accepted")
        except paramiko.AuthenticationException:
            answers.append("refused")
        answered_at.append(since_first_attempt())
    time.sleep(0.2)
    out(ext_info=seen, answers=answers, answered_at=answered_at, sent_seqs=sent_seqs,
        unimplemented=unimplemented)
    t.close()


def unknown(host, port, user, secret, *probes):
    for probe in probes:
        phase, _, kind = probe.partition("/")
        out(probe=probe, **unexpected_message(host, port, user, secret, phase, kind))


def unexpected_message(host, port, user, secret, phase, kind):
    sock = socket.create_connection((host, int(port)), timeout=20)
    t = Transport(sock)
    seen = {}
    answered = threading.Event()

    def unimplemented(m):
        seen["unimplemented"] = m.get_int()
        answered.set()

    def disconnect(m):
        seen["disconnect"] = [m.get_int(), m.get_text()]
        answered.set()

    t._handler_table[3] = unimplemented  # SSH2_MSG_UNIMPLEMENTED
    t._parse_disconnect = disconnect
    t.start_client(timeout=20)
    if phase == "auth":
        accepted = threading.Event()
        t._handler_table[6] = lambda m: accepted.set()  # SSH2_MSG_SERVICE_ACCEPT
        m = Message()
        m.add_byte(bytes([5]))  # SSH2_MSG_SERVICE_REQUEST
        m.add_string("ssh-userauth")
        t._send_message(m)
        accepted.wait(5)
    elif phase == "session":
        t.auth_password(user, secret)
    elif phase == "session-key":
        t.auth_publickey(user, paramiko.PKey.from_path(secret))
    m = Message()
    kind, _, text = kind.partition(":")
    m.add_byte(bytes([int(kind)]))
    if text:
        m.add_string(text)
    else:
        m.add_string("probe")
        m.add_int(7)
        m.add_boolean(True)
    seq = t.packetizer._Packetizer__sequence_number_out
    t._send_message(m)
    answered.wait(1)
    time.sleep(0.2)
    got = dict(
        sent_seq=seq,
        unimplemented=seen.get("unimplemented"),
        disconnect=seen.get("disconnect"),
        active=t.is_active(),
    )
    t.close()
    return got


def badlength(host, port, cipher, mac, *lengths):
    for length in lengths:
        sock = socket.create_connection((host, int(port)), timeout=20)
        t = Transport(sock)
        opts = t.get_security_options()
        opts.ciphers = (cipher,)
        opts.digests = (mac,)
        seen = {}
        answered = threading.Event()

        def disconnect(m):
            seen["disconnect"] = [m.get_int(), m.get_text()]
            answered.set()

        t._parse_disconnect = disconnect
        t.start_client(timeout=20)
        n = int(length)
        # The packet as built, before encryption and MAC: a length field that says n, then
        # n bytes (padding length 4, an IGNORE, zeros), whether or not n fills whole blocks.
        t.packetizer._build_packet = lambda data: struct.pack(">IBB", n, 4, 2) + bytes(n - 2)
        m = Message()
        m.add_byte(bytes([2]))  # SSH2_MSG_IGNORE, never sent as such
        t._send_message(m)
        answered.wait(1)
        time.sleep(0.2)
        out(length=n, cipher=t.remote_cipher, mac=t.remote_mac,
            disconnect=seen.get("disconnect"), active=t.is_active())
        t.close()


def kbd(host, port, user):
    t = transport(host, port)
    try:
        t.auth_interactive(user, lambda title, instructions, prompts: ["guess"] * len(prompts))
        out(result="accepted")
    except paramiko.BadAuthenticationType as e:
        out(result="refused", error=type(e).__name__, allowed=e.allowed_types)
    except Exception as e:
        out(result="refused", error=type(e).__name__, message=str(e))
    t.close()


def login(host, port, user, pw):
    t = transport(host, port)
    t.auth_password(user, pw)
    return t


def read_until_closed(chan, limit=20):
    data = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if chan.recv_ready():
            data += chan.recv(65536)
        elif chan.exit_status_ready() and not chan.recv_ready():
            break
        else:
            time.sleep(0.02)
    return data


def shell(host, port, user, pw, *cmds):
    t = login(host, port, user, pw)
    chan = t.open_session()
    chan.get_pty(term="xterm", width=80, height=24)
    chan.invoke_shell()
    time.sleep(0.2)
    for c in cmds:
        chan.send(c + "\r")
        time.sleep(0.2)
    chan.send("exit\r")
    data = read_until_closed(chan)
    out(output=data.decode("utf-8", "replace"), status=chan.recv_exit_status())
    t.close()


def exec_(host, port, user, pw, cmd):
    t = login(host, port, user, pw)
    chan = t.open_session()
    chan.exec_command(cmd)
    stdout = read_until_closed(chan)
    stderr = b""
    while chan.recv_stderr_ready():
        stderr += chan.recv_stderr(65536)
    out(stdout=stdout.decode("utf-8", "replace"), stderr=stderr.decode("utf-8", "replace"),
        status=chan.recv_exit_status())
    t.close()


def hold(host, port, n):
    held = [transport(host, port) for _ in range(int(n))]
    out(held=len(held), active=sum(t.is_active() for t in held))
    # Bounded: the test closes stdin once it has looked; a test that died leaves no client.
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(60)
    for t in held:
        t.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    modes = {"passwords": passwords, "default-passwords": default_passwords,
             "sshclient": sshclient, "change": change, "lowpoint": lowpoint, "kbd": kbd, "hostbound": hostbound, "ping": ping, "extinfo": extinfo, "unknown": unknown, "badlength": badlength, "shell": shell, "exec": exec_, "hold": hold}
    modes[mode](*args)
