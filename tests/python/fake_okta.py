#!/usr/bin/env python3
"""A small fake of an Okta org on loopback, for the integration tests: the parts of the
Management API decoyd uses, its OAuth token endpoint, and the Security Events push endpoint.

  fake_okta.py --port N --port-file F --log F [--ssws TOKEN]
               [--client-id ID --client-key-out PEM [--client-kid KID] [--require-dpop]]
               [--users JSON]

Authentication, as Okta does it:
- `Authorization: SSWS <token>` when --ssws is given;
- OAuth client credentials at /oauth2/v1/token with a `private_key_jwt` client assertion,
  verified with PyJWT against the public half of a key this script makes and writes (private,
  PKCS#8 PEM, mode 0600) to --client-key-out; with --require-dpop, a DPoP proof is required
  (`invalid_dpop_proof` without one, `use_dpop_nonce` with a DPoP-Nonce header until the proof
  carries the nonce), and the access token is bound to the proof's key: every API call then
  needs `Authorization: DPoP <token>` and a proof with htm, htu, ath and that key.
Every scope is checked: a token only reaches the endpoints of the scopes it was issued for.

Endpoints: GET /api/v1/users (filter=profile.login eq "..." or search=profile.email eq
"..."), DELETE /api/v1/users/{id}/sessions, PUT /api/v1/users/{id}/risk,
POST /oauth2/v1/global-token-revocation, GET/POST /api/v1/security-events-providers,
PUT /api/v1/security-events-providers/{id}, and POST /security/api/v1/security-events, whose
tokens are verified (with ssf_receiver.check) against the JWKS of the registered provider
whose issuer signed them, fetched over HTTP through its well-known URL or its jwks_url, as
Okta does. Every request is logged as one JSON line.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import time
import types
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ssf_receiver import Rejected, check  # noqa: E402

SCOPES = {
    ("GET", "users"): "okta.users.read",
    ("DELETE", "sessions"): "okta.users.manage",
    ("PUT", "risk"): "okta.userRisk.manage",
    ("POST", "revocation"): "okta.universalLogout.manage",
    ("GET", "providers"): "okta.securityEventsProviders.manage",
    ("POST", "providers"): "okta.securityEventsProviders.manage",
    ("PUT", "providers"): "okta.securityEventsProviders.manage",
}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk):
    if jwk.get("kty") == "EC":
        members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    else:
        members = {k: jwk[k] for k in ("e", "kty", "n")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64(hashlib.sha256(canonical.encode()).digest())


class Denied(Exception):
    def __init__(self, status, body, headers=()):
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = list(headers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ssws")
    p.add_argument("--client-id")
    p.add_argument("--client-key-out")
    p.add_argument("--client-kid")
    p.add_argument("--require-dpop", action="store_true")
    p.add_argument("--users", default="[]")
    p.add_argument("--revoke-first-token", action="store_true",
                   help="the first access token issued is revoked at its first use (401)")
    args = p.parse_args()

    client_key = None
    if args.client_id:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(args.client_key_out + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.rename(args.client_key_out + ".tmp", args.client_key_out)
        client_key = private.public_key()

    users = json.loads(args.users)
    lock = threading.Lock()
    state = {
        "tokens": {},  # access token -> {"scopes": set, "jkt": str|None}
        "nonce": secrets.token_urlsafe(16),
        "seen_jti": set(),
        "providers": {},
        "n": 0,
        "issued": 0,
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        @property
        def base(self):
            return f"http://127.0.0.1:{self.server.server_address[1]}"

        def answer(self, status, body=None, headers=()):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def once(self, jti):
            with lock:
                if jti in state["seen_jti"]:
                    return False
                state["seen_jti"].add(jti)
                return True

        def check_proof(self, proof, method, url, access_token=None, require_nonce=False):
            """Verifies a DPoP proof; returns the thumbprint of its key."""
            try:
                header = jwt.get_unverified_header(proof)
            except jwt.PyJWTError as e:
                raise ValueError(f"not a JWS: {e}")
            if header.get("typ") != "dpop+jwt":
                raise ValueError("typ is not dpop+jwt")
            jwk = header.get("jwk") or {}
            if "d" in jwk:
                raise ValueError("the proof carries a private key")
            alg = header.get("alg")
            if alg == "ES256":
                key = ECAlgorithm.from_jwk(json.dumps(jwk))
            elif alg == "RS256":
                key = RSAAlgorithm.from_jwk(json.dumps(jwk))
            else:
                raise ValueError(f"alg {alg!r}")
            claims = jwt.decode(proof, key, algorithms=[alg],
                                options={"require": ["htm", "htu", "iat", "jti"]})
            if claims["htm"] != method:
                raise ValueError(f"htm {claims['htm']!r}")
            if claims["htu"] != url:
                raise ValueError(f"htu {claims['htu']!r}, expected {url!r}")
            if abs(time.time() - claims["iat"]) > 60:
                raise ValueError("iat is not recent")
            if not self.once("dpop:" + claims["jti"]):
                raise ValueError("jti replayed")
            if access_token is not None:
                ath = b64(hashlib.sha256(access_token.encode()).digest())
                if claims.get("ath") != ath:
                    raise ValueError("ath does not match the token")
            if require_nonce and claims.get("nonce") != state["nonce"]:
                return None
            return thumbprint(jwk)

        def token_endpoint(self, entry, raw):
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            entry["form"] = {k: v for k, v in form.items() if k != "client_assertion"}
            url = self.base + "/oauth2/v1/token"
            if form.get("grant_type") != "client_credentials":
                raise Denied(400, {"error": "unsupported_grant_type"})
            if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                raise Denied(401, {"error": "invalid_client", "error_description": "client_assertion_type"})
            if client_key is None:
                raise Denied(401, {"error": "invalid_client", "error_description": "no such client"})
            assertion = form.get("client_assertion", "")
            try:
                header = jwt.get_unverified_header(assertion)
                if args.client_kid and header.get("kid") != args.client_kid:
                    raise jwt.InvalidTokenError(f"kid {header.get('kid')!r}")
                claims = jwt.decode(
                    assertion, client_key, algorithms=["RS256"], audience=url,
                    issuer=args.client_id,
                    options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
                )
                if claims["sub"] != args.client_id:
                    raise jwt.InvalidTokenError("sub is not the client id")
                if claims["exp"] - claims["iat"] > 3600:
                    raise jwt.InvalidTokenError("lifetime over an hour")
                if not self.once("assertion:" + claims["jti"]):
                    raise jwt.InvalidTokenError("jti replayed")
            except jwt.PyJWTError as e:
                raise Denied(401, {"error": "invalid_client", "error_description": str(e)})
            entry["assertion_ok"] = True
            jkt = None
            proof = self.headers.get("DPoP")
            entry["dpop"] = proof is not None
            if args.require_dpop:
                if proof is None:
                    raise Denied(400, {"error": "invalid_dpop_proof",
                                       "error_description": "The DPoP proof JWT header is missing."})
                try:
                    jkt = self.check_proof(proof, "POST", url, require_nonce=True)
                except (ValueError, jwt.PyJWTError) as e:
                    raise Denied(400, {"error": "invalid_dpop_proof", "error_description": str(e)})
                if jkt is None:
                    raise Denied(400, {"error": "use_dpop_nonce",
                                       "error_description": "Authorization server requires nonce in DPoP proof."},
                                 [("DPoP-Nonce", state["nonce"])])
            token = secrets.token_urlsafe(32)
            scopes = set(form.get("scope", "").split())
            with lock:
                state["issued"] += 1
                state["tokens"][token] = {"scopes": scopes, "jkt": jkt,
                                          "revoke": args.revoke_first_token and state["issued"] == 1}
            entry["issued"] = token
            return 200, {"token_type": "DPoP" if jkt else "Bearer", "expires_in": 3600,
                         "access_token": token, "scope": " ".join(sorted(scopes))}

        def authorize(self, entry, method, path, scope, oauth_only=False):
            auth = self.headers.get("Authorization", "")
            scheme, _, value = auth.partition(" ")
            entry["auth"] = scheme or None
            bad = Denied(401, {"errorCode": "E0000011", "errorSummary": "Invalid token provided"})
            if scheme == "SSWS" and oauth_only:
                raise bad
            if scheme == "SSWS":
                if not args.ssws or value != args.ssws:
                    raise bad
                return
            with lock:
                grant = state["tokens"].get(value)
            if scheme not in ("Bearer", "DPoP") or grant is None:
                raise bad
            if grant.get("revoke"):
                with lock:
                    state["tokens"].pop(value, None)
                entry["revoked"] = True
                raise bad
            if grant["jkt"] is not None:
                if scheme != "DPoP":
                    raise bad
                proof = self.headers.get("DPoP")
                entry["dpop"] = proof is not None
                try:
                    if proof is None:
                        raise ValueError("no DPoP proof")
                    jkt = self.check_proof(proof, method, self.base + path, access_token=value)
                except (ValueError, jwt.PyJWTError) as e:
                    raise Denied(401, {"errorCode": "E0000011", "errorSummary": str(e)},
                                 [("WWW-Authenticate", 'DPoP error="invalid_dpop_proof"')])
                if jkt != grant["jkt"]:
                    raise Denied(401, {"errorCode": "E0000011", "errorSummary": "proof key is not the token's"})
            elif scheme != "Bearer":
                raise bad
            if scope not in grant["scopes"]:
                raise Denied(403, {"errorCode": "E0000006",
                                   "errorSummary": "You do not have permission to perform the requested action"})

        def user(self, uid):
            return next((u for u in users if u["id"] == uid), None)

        def push(self, entry, raw):
            if self.headers.get("Content-Type") != "application/secevent+jwt":
                raise Denied(400, {"err": "invalid_request", "description": "Content-Type"})
            token = raw.decode()
            try:
                iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
            except jwt.PyJWTError as e:
                raise Denied(400, {"err": "invalid_request", "description": str(e)})
            with lock:
                providers = list(state["providers"].values())
            found = None
            for prov in providers:
                s = prov["settings"]
                if "well_known_url" in s:
                    with urllib.request.urlopen(s["well_known_url"], timeout=5) as r:
                        doc = json.load(r)
                    if doc.get("issuer") == iss:
                        found = (doc["issuer"], doc["jwks_uri"])
                elif s.get("issuer") == iss:
                    found = (s["issuer"], s["jwks_url"])
            if found is None:
                raise Denied(400, {"err": "invalid_issuer",
                                   "description": "no Security Events Provider has this issuer"})
            ns = types.SimpleNamespace(jwks=found[1], issuer=found[0], audience=self.base)
            try:
                claims = check(token, ns)
            except Rejected as e:
                raise Denied(400, {"err": e.err, "description": e.description})
            entry["claims"] = claims
            entry["jti"] = claims["jti"]
            entry["duplicate"] = not self.once("set:" + claims["jti"])
            return 202, None

        def route(self, method, entry, raw):
            url = urllib.parse.urlsplit(self.path)
            path = url.path
            query = dict(urllib.parse.parse_qsl(url.query))
            entry["path"] = path
            entry["query"] = query
            if method == "POST" and path == "/oauth2/v1/token":
                return self.token_endpoint(entry, raw)
            if method == "POST" and path == "/security/api/v1/security-events":
                return self.push(entry, raw)
            body = json.loads(raw) if raw else None
            entry["body"] = body
            if path == "/api/v1/users" and method == "GET":
                self.authorize(entry, method, path, SCOPES[("GET", "users")])
                expr = query.get("filter") or query.get("search") or ""
                field = "login" if "filter" in query else "email"
                m = re.fullmatch(r'profile\.(login|email) eq "((?:[^"\\]|\\.)*)"', expr)
                if m is None or m.group(1) != field:
                    raise Denied(400, {"errorCode": "E0000031", "errorSummary": "Invalid search criteria."})
                value = re.sub(r"\\(.)", r"\1", m.group(2))
                hits = [{"id": u["id"], "status": u.get("status", "ACTIVE"),
                         "profile": {"login": u["login"], "email": u["email"]}}
                        for u in users if u[field].lower() == value.lower()]
                return 200, hits[: int(query.get("limit", 200))]
            m = re.fullmatch(r"/api/v1/users/([^/]+)/sessions", path)
            if m and method == "DELETE":
                self.authorize(entry, method, path, SCOPES[("DELETE", "sessions")])
                if self.user(m.group(1)) is None:
                    raise Denied(404, {"errorCode": "E0000007", "errorSummary": "Not found"})
                return 204, None
            m = re.fullmatch(r"/api/v1/users/([^/]+)/risk", path)
            if m and method == "PUT":
                self.authorize(entry, method, path, SCOPES[("PUT", "risk")])
                if self.user(m.group(1)) is None:
                    raise Denied(404, {"errorCode": "E0000007", "errorSummary": "Not found"})
                if (body or {}).get("riskLevel") not in ("HIGH", "MEDIUM", "LOW"):
                    raise Denied(400, {"errorCode": "E0000001", "errorSummary": "riskLevel"})
                return 200, {"riskLevel": body["riskLevel"]}
            if path == "/oauth2/v1/global-token-revocation" and method == "POST":
                # An /oauth2 endpoint: OAuth access tokens only, never SSWS.
                self.authorize(entry, method, path, SCOPES[("POST", "revocation")], oauth_only=True)
                sub = (body or {}).get("sub_id") or {}
                if sub.get("format") != "opaque" or self.user(sub.get("id")) is None:
                    raise Denied(400, {"error": "invalid_request"})
                return 204, None
            if path == "/api/v1/security-events-providers" and method == "GET":
                self.authorize(entry, method, path, SCOPES[("GET", "providers")])
                with lock:
                    return 200, list(state["providers"].values())
            m = re.fullmatch(r"/api/v1/security-events-providers(?:/([^/]+))?", path)
            if m and method in ("POST", "PUT") and (method == "PUT") == (m.group(1) is not None):
                self.authorize(entry, method, path, SCOPES[(method, "providers")])
                s = (body or {}).get("settings") or {}
                modes = [set(s) == {"well_known_url"}, set(s) == {"issuer", "jwks_url"}]
                if not body.get("name") or not body.get("type") or not any(modes):
                    raise Denied(400, {"errorCode": "E0000001", "errorSummary": "Api validation failed: settings"})
                with lock:
                    pid = m.group(1) or "sse" + secrets.token_hex(8)
                    if method == "PUT" and pid not in state["providers"]:
                        raise Denied(404, {"errorCode": "E0000007", "errorSummary": "Not found"})
                    prov = {"id": pid, "name": body["name"], "type": body["type"],
                            "status": "ACTIVE", "settings": s}
                    state["providers"][pid] = prov
                return 200, prov
            raise Denied(404, {"errorCode": "E0000022", "errorSummary": "The endpoint does not support the provided HTTP method"})

        def handle_any(self, method):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            with lock:
                state["n"] += 1
                entry = {"n": state["n"], "method": method}
            headers = []
            try:
                status, body = self.route(method, entry, raw)
            except Denied as d:
                status, body, headers = d.status, d.body, d.headers
            entry["status"] = status
            entry["answer"] = body
            entry["at"] = time.time()
            with lock, open(args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
            self.answer(status, body, headers)

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PUT(self):
            self.handle_any("PUT")

        def do_DELETE(self):
            self.handle_any("DELETE")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
