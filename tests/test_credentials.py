"""Open Badges 3.0 credentials: issued, re-issued and revoked with each certificate, checked
by an independent verifier, by the API and the public page, with the network blocked."""

import base64
import gzip
import json
import socket
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from rest_framework.test import APIClient

from certificates import services
from certificates.bulk import certificate_issue_due
from certificates.credentials import (
    CONTEXT_FILES,
    credentials_of,
    load_context,
    new_key_set,
    sign,
)
from certificates.models import Certificate, Credential
from cohorts.models import Cohort
from tests.factories import UserFactory
from tests.test_certificates import _completed

pytestmark = pytest.mark.django_db

SHARED_CONTEXTS = "../shared/reference/vc-contexts"


# The network: only this machine's own services -------------------------------------------


def _local(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return (
        isinstance(host, str)
        and host in {"localhost", "127.0.0.1", "::1"}
        or (
            not isinstance(address, tuple)  # a Unix socket
        )
    )


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection to another host fails (and is recorded): contexts, keys and status
    lists are never fetched."""
    attempts: list = []
    real_connect = socket.socket.connect
    real_create = socket.create_connection

    def create_connection(address, *args, **kwargs):
        if not _local(address):
            attempts.append(address)
            raise OSError(f"network blocked in tests: {address}")
        return real_create(address, *args, **kwargs)

    def connect(self, address):
        if not _local(address):
            attempts.append(address)
            raise OSError(f"network blocked in tests: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert attempts == [], f"tried to reach the network: {attempts}"


@pytest.fixture(autouse=True)
def signing_keys(settings):
    """This test's own key set (never one from the repository)."""
    _kid, key_set = new_key_set()
    settings.CREDENTIAL_KEYS = key_set
    return key_set


def _issued(n=2, **kwargs):
    cohort, _sessions, people = _completed(n, **kwargs)
    certificate = services.certificate_issue(participant=people[0], cohort=cohort)
    return certificate, people


def _token(certificate: Certificate) -> str:
    return Credential.objects.filter(certificate=certificate).latest("pk").token


# An independent verifier: the JOSE library, the standard library, the published JWKS ------


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class IndependentVerifier:
    """Knows nothing of the project: reads what the server publishes over HTTP (the test
    client) and checks with joserfc alone."""

    def __init__(self, client: Client):
        self.client = client

    def get(self, url: str) -> bytes:
        response = self.client.get(urlsplit(url).path)
        assert response.status_code == 200, url
        return response.content

    def keys(self) -> KeySet:
        return KeySet.import_key_set(json.loads(self.get("/.well-known/jwks.json")))

    def check(self, token: str) -> dict:
        """The credential if its signature holds (raises JoseError otherwise)."""
        header = json.loads(_b64(token.split(".")[0]))
        assert header["alg"] == "ES256" and header["typ"] == "vc+jwt"
        return json.loads(jws.deserialize_compact(token, self.keys(), algorithms=["ES256"]).payload)

    def revoked(self, credential: dict) -> bool:
        status = credential["credentialStatus"]
        assert status["type"] == "BitstringStatusListEntry"
        assert status["statusPurpose"] == "revocation"
        listing = self.check(self.get(status["statusListCredential"]).decode())
        assert "BitstringStatusListCredential" in listing["type"]
        assert listing["issuer"] == credential["issuer"]["id"]
        subject = listing["credentialSubject"]
        assert subject["statusPurpose"] == "revocation"
        encoded = subject["encodedList"]
        assert encoded.startswith("u")  # multibase base64url
        bits = gzip.decompress(_b64(encoded[1:]))
        assert len(bits) * 8 >= 131_072
        index = int(status["statusListIndex"])
        return bool(bits[index // 8] & (0x80 >> (index % 8)))


def _one_byte_changed(token: str) -> str:
    """The same JWT with one byte of its payload changed (hours 12 -> 13)."""
    header, payload, signature = token.split(".")
    raw = bytearray(_b64(payload))
    at = raw.index(b'"creditsEarned":12') + len(b'"creditsEarned":1')
    raw[at] = ord("3")
    changed = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"


def test_an_independent_verifier_accepts_the_credential_rejects_a_changed_byte_and_sees_revocation(
    client,
):
    certificate, _people = _issued()
    token = _token(certificate)
    verifier = IndependentVerifier(client)

    credential = verifier.check(token)
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["credentialSubject"]["creditsEarned"] == 12.0
    assert verifier.revoked(credential) is False

    with pytest.raises(JoseError):
        verifier.check(_one_byte_changed(token))
    # One character of the signature changed, too.
    last = token[-5]
    with pytest.raises(JoseError):
        verifier.check(token[:-5] + ("A" if last != "A" else "B") + token[-4:])

    services.certificate_revoke(certificate=certificate, reason="Fraud")
    assert verifier.check(token) == credential  # still the issuer's signature...
    assert verifier.revoked(credential) is True  # ...but revoked


# What the credential carries ---------------------------------------------------------------

# Required by Open Badges 3.0 (the specification's data model tables and its JSON schema
# for OpenBadgeCredential / AchievementCredential), with VC Data Model 2.0's own.
REQUIRED = {
    "OpenBadgeCredential": [
        "@context", "id", "type", "issuer", "validFrom", "name", "credentialSubject",
    ],
    "AchievementSubject": ["type", "achievement"],
    "Achievement": ["id", "type", "name", "description", "criteria"],
    "Criteria": ["narrative"],  # one of id or narrative
    "Profile": ["id", "type"],
    "IdentityObject": ["type", "identityHash", "identityType", "hashed"],
    "BitstringStatusListEntry": [
        "type", "statusPurpose", "statusListIndex", "statusListCredential",
    ],
    "Evidence": ["type"],
}  # fmt: skip


def test_the_credential_carries_every_field_open_badges_requires(client):
    certificate, (amina, *_rest) = _issued()
    credential = IndependentVerifier(client).check(_token(certificate))
    subject = credential["credentialSubject"]
    parts = {
        "OpenBadgeCredential": credential,
        "AchievementSubject": subject,
        "Achievement": subject["achievement"],
        "Criteria": subject["achievement"]["criteria"],
        "Profile": credential["issuer"],
        "IdentityObject": subject["identifier"][0],
        "BitstringStatusListEntry": credential["credentialStatus"],
        "Evidence": credential["evidence"][0],
    }
    for name, fields in REQUIRED.items():
        missing = [f for f in fields if parts[name].get(f) in (None, "", [], {})]
        assert missing == [], f"{name} lacks {missing}"
    # Every type named is a term of the contexts (the local copies).
    ob = load_context("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json")["@context"]
    vc = load_context("https://www.w3.org/ns/credentials/v2")["@context"]
    for term in ("OpenBadgeCredential", "Achievement", "AchievementSubject", "Profile",
                 "IdentityObject", "Criteria", "Evidence"):  # fmt: skip
        assert term in ob, term
    assert "BitstringStatusListEntry" in vc and "VerifiableCredential" in vc
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["achievement"]["type"] == ["Achievement"]
    assert credential["issuer"]["type"] == ["Profile"]
    # The programme, in French and Arabic; its site; a did:web.
    names = {n["@language"]: n["@value"] for n in credential["issuer"]["name"]}
    assert set(names) == {"fr", "ar"} and names["fr"] == certificate.cohort.programme.name
    assert credential["issuer"]["id"] == "did:web:127.0.0.1%3A8000"
    assert credential["issuer"]["url"] == "http://127.0.0.1:8000/"
    # The cohort, the rule in words, the hours.
    achievement = subject["achievement"]
    assert certificate.cohort.name in achievement["name"]
    assert "80 %" in achievement["criteria"]["narrative"]
    assert achievement["creditsAvailable"] == 12.0 and subject["creditsEarned"] == 12.0
    # The holder: a salted hash of the e-mail, no name, no address.
    identity = subject["identifier"][0]
    assert identity["identityType"] == "emailAddress" and identity["hashed"] is True
    import hashlib

    expected = hashlib.sha256((amina.email.lower() + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"
    text = json.dumps(credential, ensure_ascii=False)
    for personal in (amina.email, amina.last_name, amina.first_name):
        assert personal not in text
    # Issue date, the PDF's verification page, the status entry.
    assert credential["validFrom"].endswith("Z")
    assert credential["evidence"][0]["id"] == (
        f"http://127.0.0.1:8000/verify/{certificate.verification_code}"
    )
    status = credential["credentialStatus"]
    assert status["statusListCredential"] == "http://127.0.0.1:8000/credentials/status/1"
    assert int(status["statusListIndex"]) >= 0


# Re-issue, revocation, every path ----------------------------------------------------------


def test_a_reissue_signs_a_new_credential_and_the_old_one_reads_as_revoked(client):
    certificate, _people = _issued()
    old = _token(certificate)
    services.certificate_reissue(certificate=certificate, reason="Name corrected")
    new = _token(certificate)
    verifier = IndependentVerifier(client)
    old_credential, new_credential = verifier.check(old), verifier.check(new)
    assert old_credential["id"] != new_credential["id"]
    assert "version 2" in new_credential["description"]
    # Superseded: its bit is set in the revocation list (what any verifier sees)...
    assert verifier.revoked(old_credential) is True
    assert verifier.revoked(new_credential) is False
    # ...and the issuer's own check says why.
    api = APIClient()
    answer = api.post("/api/v1/credentials/verify", {"credential": old}, format="json").json()
    assert (answer["status"], answer["reason_code"]) == ("revoked", "superseded")
    answer = api.post("/api/v1/credentials/verify", {"credential": new}, format="json").json()
    assert answer["status"] == "valid"
    assert list(
        Credential.objects.filter(certificate=certificate)
        .order_by("version")
        .values_list("version", "revocation")
    ) == [(1, "superseded"), (2, "")]


def test_revocation_revokes_every_credential_of_the_certificate(client):
    certificate, _people = _issued()
    services.certificate_reissue(certificate=certificate, reason="Typo")
    services.certificate_revoke(certificate=certificate, reason="Withdrawn")
    verifier = IndependentVerifier(client)
    for row in Credential.objects.filter(certificate=certificate):
        assert verifier.revoked(verifier.check(row.token)) is True


def test_batch_and_bulk_issuance_sign_one_credential_per_certificate():
    cohort, _sessions, _people = _completed(3)
    issued = certificate_issue_due(cohorts=Cohort.objects.filter(pk=cohort.pk), processes=0)
    assert issued == 3
    rows = Credential.objects.filter(certificate__cohort=cohort)
    assert rows.count() == 3 and all(r.token and r.version == 1 for r in rows)
    # A batch through the worker's path (inline here).
    other, _s, people = _completed(2)
    batch = services.certificate_batch_start(cohort=other)
    services.certificate_batch_run(batch=batch)
    assert Credential.objects.filter(certificate__cohort=other).count() == 2
    assert set(Credential.objects.values_list("certificate_id", flat=True)) == set(
        Certificate.objects.values_list("pk", flat=True)
    )


# The verify API's four answers -------------------------------------------------------------


def _verify(credential) -> dict:
    response = APIClient().post(
        "/api/v1/credentials/verify",
        {"credential": credential},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_verify_api_says_valid_revoked_tampered_or_unknown_issuer_with_the_reason():
    certificate, _people = _issued()
    token = _token(certificate)
    payload = json.loads(_b64(token.split(".")[1]))

    valid = _verify(token)
    assert (valid["status"], valid["reason_code"]) == ("valid", "valid")
    assert valid["credential"]["id"] == payload["id"]
    assert set(valid["reasons"]) == {"fr", "ar", "en"}
    assert valid["reasons"]["fr"] != valid["reasons"]["en"]
    assert valid["reasons"]["ar"] != valid["reasons"]["en"]
    assert valid["reason"] == valid["reasons"]["fr"]  # the request's language
    # Its JSON, as downloaded, matches what was signed.
    assert _verify(payload)["status"] == "valid"

    tampered = _verify(_one_byte_changed(token))
    assert (tampered["status"], tampered["reason_code"]) == ("tampered", "signature")
    altered = {**payload, "name": payload["name"] + " (avec mention)"}
    assert _verify(altered)["status"] == "tampered"
    assert _verify(json.dumps(altered))["reason_code"] == "content"
    assert _verify("not a credential")["status"] == "tampered"

    # Another issuer, or our name with a key we never published.
    stranger = ECKey.generate_key("P-256", parameters={"kid": "stranger"}, private=True)
    theirs = {**payload, "issuer": {**payload["issuer"], "id": "did:web:diplomas.example"}}
    unknown = _verify(sign(theirs, stranger))
    assert (unknown["status"], unknown["reason_code"]) == ("unknown_issuer", "issuer")
    assert "did:web:diplomas.example" in unknown["reason"]
    forged = _verify(sign(payload, stranger))
    assert (forged["status"], forged["reason_code"]) == ("unknown_issuer", "key")

    services.certificate_revoke(certificate=certificate, reason="Attestation frauduleuse")
    revoked = _verify(token)
    assert (revoked["status"], revoked["reason_code"]) == ("revoked", "revoked")
    assert "Attestation frauduleuse" in revoked["reason"]


def test_the_verify_api_refuses_an_empty_request_with_the_error_shape():
    response = APIClient().post("/api/v1/credentials/verify", {}, format="json")
    assert response.status_code == 400
    assert "credential" in json.dumps(response.json())


# Keys: published, rotated -------------------------------------------------------------------


def test_after_a_key_rotation_old_credentials_still_verify_and_new_ones_use_the_new_key(
    client, settings, capsys
):
    certificate, (amina, bilal) = _issued()
    old = _token(certificate)
    old_kid = json.loads(_b64(old.split(".")[0]))["kid"]

    call_command("credential_key")
    settings.CREDENTIAL_KEYS = capsys.readouterr().out.strip()
    published = json.loads(client.get("/.well-known/jwks.json").content)
    assert len(published["keys"]) == 2 and all("d" not in k for k in published["keys"])
    new_kid = published["keys"][0]["kid"]
    assert published["keys"][1]["kid"] == old_kid != new_kid

    second = services.certificate_issue(participant=bilal, cohort=certificate.cohort)
    assert json.loads(_b64(_token(second).split(".")[0]))["kid"] == new_kid
    verifier = IndependentVerifier(client)
    assert verifier.check(old)["id"] and verifier.check(_token(second))["id"]
    assert _verify(old)["status"] == "valid"
    # The DID document publishes the same keys.
    did = client.get("/.well-known/did.json").json()
    assert did["id"] == "did:web:127.0.0.1%3A8000"
    assert [m["publicKeyJwk"]["kid"] for m in did["verificationMethod"]] == [new_kid, old_kid]
    assert did["assertionMethod"] == [m["id"] for m in did["verificationMethod"]]


# Contexts: local copies only ---------------------------------------------------------------


def test_the_contexts_are_served_from_the_copies_in_the_project_and_never_fetched(
    client, no_network
):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for url, name in CONTEXT_FILES.items():
        shipped = (root / "certificates" / "contexts" / name).read_bytes()
        shared_file = root / SHARED_CONTEXTS / name
        if shared_file.exists():  # beside a checkout in development; not everywhere
            assert shipped == shared_file.read_bytes(), name
        response = client.get(f"/credentials/contexts/{name}")
        assert response.status_code == 200 and response.content == shipped, url
        assert load_context(url) == json.loads(shipped)
    # Issue, verify, publish the status list: nothing leaves the machine (the fixture fails
    # the test on any attempt).
    certificate, _people = _issued()
    assert _verify(_token(certificate))["status"] == "valid"
    assert client.get("/credentials/status/1").status_code == 200
    assert client.get("/credentials/status/2").status_code == 404  # no such list yet
    assert client.get("/credentials/contexts/other.json").status_code == 404
    # The guard itself works.
    with pytest.raises(OSError):
        socket.create_connection(("www.w3.org", 443), timeout=1)
    no_network.clear()


# The trainee's downloads, the public page, the data export --------------------------------


def test_the_trainee_downloads_their_credential_and_its_qr_code(client):
    certificate, (amina, bilal) = _issued()
    user = UserFactory(username="amina-credential")
    amina.user = user
    amina.save(update_fields=["user"])
    client.force_login(user)
    page = client.get("/me/").content.decode()
    assert f"/me/certificates/{certificate.pk}/credential.json" in page
    assert f"/me/certificates/{certificate.pk}/credential.svg" in page

    downloaded = client.get(f"/me/certificates/{certificate.pk}/credential.json")
    assert downloaded.status_code == 200
    assert "attachment" in downloaded["Content-Disposition"]
    credential = json.loads(downloaded.content)
    assert credential == json.loads(_b64(_token(certificate).split(".")[1]))
    jwt = client.get(f"/me/certificates/{certificate.pk}/credential.jwt")
    assert jwt.content.decode() == _token(certificate)
    qr = client.get(f"/me/certificates/{certificate.pk}/credential.svg")
    assert qr["Content-Type"] == "image/svg+xml" and qr.content.startswith(b"<svg")
    # The QR code's address serves the same credential, to anyone.
    uid = credential["id"].removeprefix("urn:uuid:")
    public = Client().get(f"/credentials/{uid}.json")
    assert json.loads(public.content) == credential
    assert Client().get(f"/credentials/{uid}.jwt").content.decode() == _token(certificate)

    # Someone else's certificate: not found.
    other = services.certificate_issue(participant=bilal, cohort=certificate.cohort)
    assert client.get(f"/me/certificates/{other.pk}/credential.json").status_code == 404
    assert client.get(f"/me/certificates/{certificate.pk}/credential.exe").status_code == 404


def test_the_public_page_checks_a_pasted_credential(client):
    certificate, _people = _issued()
    token = _token(certificate)
    assert "/verify/credential/" in client.get("/verify/").content.decode()
    page = client.post("/verify/credential/", {"credential": token}, HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200
    assert 'data-status="valid"' in page.content.decode()
    page = client.post("/verify/credential/", {"credential": _one_byte_changed(token)})
    assert 'data-status="tampered"' in page.content.decode()
    empty = client.post("/verify/credential/", {"credential": ""})
    assert empty.status_code == 200 and 'id="result"' not in empty.content.decode()


def test_credentials_of_lists_a_participants_credentials_for_their_export():
    certificate, (amina, bilal) = _issued()
    services.certificate_reissue(certificate=certificate, reason="Name corrected")
    rows = credentials_of(amina)
    assert [(r["version"], r["state"]) for r in rows] == [(1, "superseded"), (2, "active")]
    assert all(r["certificate"] == certificate.serial and r["jwt"].count(".") == 2 for r in rows)
    assert rows[1]["credential"]["id"] == rows[1]["id"]
    json.dumps(rows)  # plain data
    assert credentials_of(bilal) == []


def test_the_hourly_sweep_signs_credentials_for_certificates_issued_before_them(client):
    from certificates.tasks import sweep_certificates

    certificate, (amina, bilal) = _issued()
    revoked = services.certificate_issue(participant=bilal, cohort=certificate.cohort)
    services.certificate_revoke(certificate=revoked, reason="Error")
    Credential.objects.all().delete()  # as before credentials existed

    assert sweep_certificates()["credentials"] == 2
    assert sweep_certificates()["credentials"] == 0
    verifier = IndependentVerifier(client)
    assert verifier.revoked(verifier.check(_token(certificate))) is False
    assert verifier.revoked(verifier.check(_token(revoked))) is True


def test_a_key_set_that_cannot_sign_is_refused_at_start(settings):
    from certificates.checks import credential_keys_check

    assert credential_keys_check() == []
    settings.CREDENTIAL_KEYS = "not json"
    assert [e.id for e in credential_keys_check()] == ["certificates.E001"]
    public_only = json.loads(new_key_set()[1])
    public_only["keys"][0].pop("d")
    settings.CREDENTIAL_KEYS = json.dumps(public_only)
    assert "private" in credential_keys_check()[0].msg


def test_an_enveloped_credential_is_read_as_its_jwt():
    certificate, _people = _issued()
    enveloped = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"data:application/vc+jwt,{_token(certificate)}",
        "type": "EnvelopedVerifiableCredential",
    }
    assert _verify(enveloped)["status"] == "valid"
    enveloped["id"] = f"data:application/vc+jwt,{_one_byte_changed(_token(certificate))}"
    assert _verify(enveloped)["status"] == "tampered"


def test_the_trainees_api_record_links_the_credentials_public_address():
    certificate, (amina, _bilal) = _issued()
    user = UserFactory(username="amina-api")
    amina.user = user
    amina.save(update_fields=["user"])
    api = APIClient()
    api.force_authenticate(user)
    listed = api.get("/api/v1/me/").json()["cohorts"][0]["certificate"]
    uid = Credential.objects.get(certificate=certificate).uid
    assert listed["credential_url"] == f"/credentials/{uid}.json"
    assert APIClient().get(listed["credential_url"]).status_code == 200
