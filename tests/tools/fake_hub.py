#!/usr/bin/env python3
"""A stand-in for the Hugging Face hub, for model_resolver_test: loopback only, stdlib only.

    python3 fake_hub.py --root DIR [--commit SHA] [--cut] [--no-commit-header]

Serves DIR/<repo>/<file> at /<repo>/resolve/<rev>/<file> (rev: "main" or the commit), the way the
hub does it: small files answer 200 with X-Repo-Commit and ETag (a git-style sha1); .safetensors
files answer 302 with X-Repo-Commit, X-Linked-Etag (the sha256) and X-Linked-Size, and a Location
on /cdn/... that serves the bytes with a *different* ETag, as the real CDN does. Absent files: 404.
--cut sends the full Content-Length for .safetensors bodies but only half the bytes, then closes
the connection. Prints the port on stdout; exits when stdin closes, so it never outlives the test.
"""
import argparse
import hashlib
import http.server
import os
import re
import socket
import sys
import threading

RESOLVE = re.compile(r"^/(.+?)/resolve/([^/]+)/(.+)$")
CDN = re.compile(r"^/cdn/(.+?)/file/(.+)$")


def make_handler(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *values):  # keep test output clean
            pass

        def read(self, repo, name):
            path = os.path.join(args.root, repo, name)
            if ".." in repo.split("/") or ".." in name.split("/") or not os.path.isfile(path):
                return None
            with open(path, "rb") as f:
                return f.read()

        def reply(self, status, headers, body=b"", cut=False):
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if cut:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

        def do_GET(self):
            match = RESOLVE.match(self.path)
            if match:
                return self.resolve(*match.groups())
            match = CDN.match(self.path)
            if match:
                body = self.read(*match.groups())
                if body is None:
                    return self.reply(404, {}, b"not found")
                etag = '"cdn-%s"' % hashlib.md5(body).hexdigest()
                return self.reply(200, {"ETag": etag}, body, cut=args.cut)
            self.reply(404, {}, b"not found")

        do_HEAD = do_GET

        def resolve(self, repo, revision, name):
            body = self.read(repo, name)
            if revision not in ("main", args.commit) or body is None:
                return self.reply(404, {"X-Error-Code": "EntryNotFound"}, b"Entry not found")
            headers = {} if args.no_commit_header else {"X-Repo-Commit": args.commit}
            if name.endswith(".safetensors"):
                headers["X-Linked-Etag"] = '"%s"' % hashlib.sha256(body).hexdigest()
                headers["X-Linked-Size"] = str(len(body))
                headers["ETag"] = 'W/"hub-pointer"'
                headers["Location"] = "/cdn/%s/file/%s" % (repo, name)
                return self.reply(302, headers)
            blob_sha = hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()
            headers["ETag"] = 'W/"%s"' % blob_sha
            self.reply(200, headers, body)

    return Handler


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that drops a connection (after a 404, or on purpose) is not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--commit", default="0123456789abcdef0123456789abcdef01234567")
    parser.add_argument("--cut", action="store_true")
    parser.add_argument("--no-commit-header", action="store_true")
    args = parser.parse_args()
    server = QuietServer(("127.0.0.1", 0), make_handler(args))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the test holds the other end; EOF means it is gone
    os._exit(0)


if __name__ == "__main__":
    main()
