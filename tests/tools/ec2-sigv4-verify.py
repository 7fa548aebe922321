#!/usr/bin/env python3
"""Check that a request signed by libcurl (CURLOPT_AWS_SIGV4) carries the
signature AWS's own signer, botocore.auth.SigV4Auth, computes for it.

    ec2-sigv4-verify.py SECRET FILE     exit 0 if it matches, 1 if not,
                                        77 (skip) without botocore

FILE is ec2-sigv4-dump's JSON.  The signer is given the headers the
request says it signed, its X-Amz-Date and the same secret; everything
else (canonical request, string to sign, key derivation) is botocore's.
"""
import json
import re
import sys

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("ec2-sigv4-verify: python3-botocore is not installed",
          file=sys.stderr)
    sys.exit(77)

AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/([0-9]{8})/([^/]+)/"
                  r"([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), "
                  r"Signature=([0-9a-f]{64})")


def fail(msg):
    print("ec2-sigv4-verify: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    secret, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        dump = json.load(f)
    headers = {}
    for name, value in dump["headers"]:
        headers[name.lower()] = value

    m = AUTH.fullmatch(headers.get("authorization", ""))
    if not m:
        fail("Authorization header has the wrong shape: %r"
             % headers.get("authorization"))
    akid, date, region, service, signed, signature = m.groups()
    amz_date = headers.get("x-amz-date", "")
    if not re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", amz_date) or \
            not amz_date.startswith(date):
        fail("X-Amz-Date %r does not match the credential scope date %s"
             % (amz_date, date))
    for required in ("host", "x-amz-date"):
        if required not in signed.split(";"):
            fail("%s is not signed (SignedHeaders=%s)" % (required, signed))
    for name in signed.split(";"):
        if name not in headers:
            # libcurl 7.88 signs "Expect:", which only suppresses a header.
            fail("%s is signed but was not sent" % name)
    if "x-amz-security-token" in headers and \
            "x-amz-security-token" not in signed.split(";"):
        fail("X-Amz-Security-Token is sent but not signed")

    request = AWSRequest(
        method=dump["method"],
        url="http://" + headers["host"] + dump["path"],
        data=dump["body"].encode("utf-8"),
        headers={name: headers[name] for name in signed.split(";")})
    # What SigV4Auth.add_auth would set from the clock.
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(akid, secret,
                                   headers.get("x-amz-security-token")),
                       service, region)
    want_signed = signer.signed_headers(signer.headers_to_sign(request))
    if want_signed != signed:
        fail("SignedHeaders %s, botocore would sign %s" % (signed, want_signed))
    canonical = signer.canonical_request(request)
    want = signer.signature(signer.string_to_sign(request, canonical),
                            request)
    if want != signature:
        fail("signature %s, botocore computes %s\ncanonical request:\n%s"
             % (signature, want, canonical))
    print("ec2-sigv4-verify: signature matches botocore (%s, %s, %s)"
          % (service, region, signed))


if __name__ == "__main__":
    main()
