#!/usr/bin/env python3
"""An SSF push receiver (RFC 8935) that checks Security Event Tokens the way Okta documents,
with PyJWT: an independent verifier of decoyd's tokens, for the integration tests.

  ssf_receiver.py --jwks URL|@ADDR-FILE --issuer ISS --audience AUD --port-file F --log F
                  [--port N] [--fail N] [--rate-limit N]

Listens on 127.0.0.1 (port 0; the port is written to --port-file). Each POST is checked:
Content-Type, header typ/alg/kid (the key fetched from --jwks over HTTP at every request, so
rotated keys are seen), signature, iss, aud, required claims, no exp or sub, exactly one event,
the user-risk-change members and enums, event_timestamp in seconds. Answers 202, or 400 with
{"err", "description"} as Okta does. --fail N answers the first N requests 503; --rate-limit N
answers the first N 429 with X-Rate-Limit-Reset two seconds ahead. Every request is logged as
one JSON line (status, err, jti, claims, duplicate).
"""

import argparse
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from jwt.algorithms import RSAAlgorithm

RISK = "https://schemas.okta.com/secevent/okta/event-type/user-risk-change"
LEVELS = {"low", "medium", "high", "secure", "none"}
ENTITIES = {"admin", "user", "policy", "system"}


class Rejected(Exception):
    def __init__(self, err, description):
        super().__init__(description)
        self.err = err
        self.description = description


def check(token, args):
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as e:
        raise Rejected("invalid_request", f"not a JWS: {e}")
    if header.get("typ") != "secevent+jwt":
        raise Rejected("invalid_request", f"typ is {header.get('typ')!r}")
    if header.get("alg") != "RS256":
        raise Rejected("invalid_request", f"alg is {header.get('alg')!r}")
    url = args.jwks
    if url.startswith("@"):
        # A file naming the transmitter's admin address, read at each request.
        with open(url[1:]) as f:
            url = f"http://{f.read().strip()}/jwks.json"
    with urllib.request.urlopen(url, timeout=5) as r:
        jwks = json.load(r)
    keys = {k["kid"]: k for k in jwks["keys"]}
    if header.get("kid") not in keys:
        raise Rejected("invalid_key", f"kid {header.get('kid')!r} is not in the JWKS")
    k = keys[header["kid"]]
    if (k.get("kty"), k.get("use"), k.get("alg")) != ("RSA", "sig", "RS256"):
        raise Rejected("invalid_key", "the JWK is not an RS256 signing key")
    key = RSAAlgorithm.from_jwk(json.dumps(k))
    try:
        claims = jwt.decode(
            token, key, algorithms=["RS256"], audience=args.audience, issuer=args.issuer,
            options={"require": ["iss", "aud", "jti", "iat"], "verify_exp": False},
        )
    except jwt.InvalidAudienceError as e:
        raise Rejected("invalid_audience", str(e))
    except jwt.InvalidIssuerError as e:
        raise Rejected("invalid_issuer", str(e))
    except jwt.InvalidSignatureError as e:
        raise Rejected("authentication_failed", str(e))
    except jwt.PyJWTError as e:
        raise Rejected("invalid_request", str(e))
    for forbidden in ("exp", "sub"):
        if forbidden in claims:
            raise Rejected("invalid_request", f"{forbidden} must not be present")
    if not isinstance(claims["iat"], int) or claims["iat"] > 10**11:
        raise Rejected("invalid_request", "iat must be seconds")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:
        raise Rejected("invalid_request", "exactly one event is required")
    (uri, ev), = events.items()
    if not isinstance(ev.get("event_timestamp"), int) or ev["event_timestamp"] > 10**11:
        raise Rejected("invalid_request", "event_timestamp must be seconds")
    if uri == RISK:
        user = ev.get("subject", {}).get("user", {})
        if user.get("format") != "email" or "@" not in user.get("email", ""):
            raise Rejected("invalid_request", "subject.user must be an email")
        for f in ("current_level", "previous_level"):
            if ev.get(f) not in LEVELS:
                raise Rejected("invalid_request", f"{f} {ev.get(f)!r} is not a level")
        if ev.get("initiating_entity") not in ENTITIES:
            raise Rejected("invalid_request", "initiating_entity")
        for f in ("reason_admin", "reason_user"):
            if not isinstance(ev.get(f, {}).get("en"), str):
                raise Rejected("invalid_request", f"{f}.en is required")
    return claims


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--jwks", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--audience", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", required=True)
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--rate-limit", type=int, default=0)
    args = p.parse_args()
    lock = threading.Lock()
    state = {"requests": 0, "seen": set()}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status, body=None, headers=()):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            token = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            with lock:
                state["requests"] += 1
                n = state["requests"]
            entry = {"n": n, "content_type": self.headers.get("Content-Type"),
                     "accept": self.headers.get("Accept")}
            if n <= args.fail:
                entry["status"] = 503
                self.answer(503, {"err": "unavailable", "description": "try later"})
            elif n <= args.fail + args.rate_limit:
                entry["status"] = 429
                self.answer(429, {"err": "rate_limited", "description": "slow down"},
                            [("X-Rate-Limit-Reset", str(int(time.time()) + 2))])
            elif self.headers.get("Content-Type") != "application/secevent+jwt":
                entry.update(status=400, err="invalid_request")
                self.answer(400, {"err": "invalid_request", "description": "Content-Type"})
            else:
                try:
                    claims = check(token, args)
                    with lock:
                        dup = claims["jti"] in state["seen"]
                        state["seen"].add(claims["jti"])
                    entry.update(status=202, jti=claims["jti"], claims=claims, duplicate=dup)
                    self.answer(202)
                except Rejected as e:
                    entry.update(status=400, err=e.err, description=e.description)
                    self.answer(400, {"err": e.err, "description": e.description})
            entry["at"] = time.time()
            with lock, open(args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
