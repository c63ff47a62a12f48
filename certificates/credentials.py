"""Digital credentials: an Open Badges 3.0 credential with every certificate.

Each certificate version gets one `Credential`: a Verifiable Credential (VC Data Model
2.0, type OpenBadgeCredential) signed as a JWT (VC-JOSE-COSE: the JWT's payload is the
credential, header `typ: vc+jwt`, ES256). The programme is the issuer, identified by the
site's did:web; the subject is a salted SHA-256 of the holder's e-mail (an IdentityObject,
as Open Badges allows), never their name or address. Its `credentialStatus` points at a
Bitstring Status List (revocation) that the server publishes, signed with the same keys,
at a stable URL: revoking the certificate, or re-issuing it, sets the credential's bit.

Keys come from the `CREDENTIAL_KEYS` setting, a JWK set (JSON): its first key signs, every
key in it is published (JWKS at /.well-known/jwks.json and the DID document at
/.well-known/did.json), so credentials signed by an older key still verify after a
rotation. `manage.py credential_key` makes a new key. Without the setting (development,
tests), a key derived from SECRET_KEY signs.

JSON-LD contexts are read from the copies in `certificates/contexts/`, never fetched.
"""

import base64
import gzip
import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from certificates.models import Certificate, Credential
from certificates.rules import ExcusedPolicy, Rule
from certificates.selectors import rule_for_cohort
from cohorts.models import Cohort, Participant

ALGORITHM = "ES256"
JWT_TYPE = "vc+jwt"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"
# The contexts this tracker knows, each a copy kept in the repository.
CONTEXT_FILES = {VC_CONTEXT: "credentials-v2.jsonld", OB_CONTEXT: "ob-context-3.0.3.json"}
# Bits per status list: the spec's minimum (16 KiB), which hides any one credential among
# at least 131,072. Credential n's bit is bit n % LIST_SIZE of list n // LIST_SIZE + 1.
LIST_SIZE = 131_072
PROGRAMME_NAME_AR = "الدورة الدراسية «جهة 2021»"


# --- JSON-LD contexts ------------------------------------------------------------------------


@cache
def load_context(url: str) -> dict[str, Any]:
    """The JSON-LD context at url, from the local copy; KeyError for any other."""
    return json.loads((CONTEXTS_DIR / CONTEXT_FILES[url]).read_text(encoding="utf-8"))


def context_bytes(name: str) -> bytes:
    """A context file's bytes, by its file name (for serving it)."""
    if name not in CONTEXT_FILES.values():
        raise KeyError(name)
    return (CONTEXTS_DIR / name).read_bytes()


# --- Keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    signing: ECKey  # the current key, private
    published: KeySet  # every key's public part, the current one first


def _derived_key(secret: str) -> ECKey:
    """A P-256 key derived from SECRET_KEY: for development and tests only."""
    seed = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"cycle2021 credential key"
    ).derive(secret.encode())
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    private = ec.derive_private_key(int.from_bytes(seed, "big") % (order - 1) + 1, ec.SECP256R1())
    key = ECKey.import_key(private)
    return ECKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})


@lru_cache(maxsize=4)
def _keys(configured: str, secret: str) -> Keys:
    if configured:
        keys = [ECKey.import_key(jwk) for jwk in json.loads(configured)["keys"]]
        for key in keys:
            if key.kid is None:
                raise ValueError("Every key in CREDENTIAL_KEYS needs a kid.")
    else:
        keys = [_derived_key(secret)]
    if not keys[0].is_private:
        raise ValueError("The first key in CREDENTIAL_KEYS signs: it must be private.")
    public = KeySet([ECKey.import_key(k.as_dict(private=False)) for k in keys])
    return Keys(signing=keys[0], published=public)


def keys() -> Keys:
    return _keys(settings.CREDENTIAL_KEYS, settings.SECRET_KEY)


def new_key_set(existing: str = "") -> tuple[str, str]:
    """A new signing key in front of the existing set's keys (kept, public parts only, so
    the credentials they signed stay verifiable); return (kid, the set as JSON)."""
    key = ECKey.generate_key("P-256", private=True)
    key = ECKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})
    older = []
    if existing.strip():
        older = [
            ECKey.import_key(jwk).as_dict(private=False) for jwk in json.loads(existing)["keys"]
        ]
    return str(key.kid), json.dumps({"keys": [key.as_dict(private=True), *older]})


def jwks() -> dict[str, Any]:
    return dict(keys().published.as_dict(private=False))


# --- The issuer ------------------------------------------------------------------------------


def issuer_did() -> str:
    """did:web of the site (its host, a port as %3A, a path as :-separated segments)."""
    parts = urlsplit(settings.SITE_URL)
    did = "did:web:" + quote(parts.netloc, safe="")
    for segment in parts.path.strip("/").split("/"):
        if segment:
            did += ":" + quote(segment, safe="")
    return did


def did_document() -> dict[str, Any]:
    did = issuer_did()
    methods = [
        {
            "id": f"{did}#{jwk['kid']}",
            "type": "JsonWebKey",
            "controller": did,
            "publicKeyJwk": jwk,
        }
        for jwk in jwks()["keys"]
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def _url(name: str, *args: Any) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def issuer_profile(programme_name: str) -> dict[str, Any]:
    """The programme as an Open Badges Profile; its name in French and Arabic (VC 2.0
    language value objects)."""
    return {
        "id": issuer_did(),
        "type": ["Profile"],
        "name": [
            {"@value": programme_name, "@language": "fr"},
            {"@value": PROGRAMME_NAME_AR, "@language": "ar", "@direction": "rtl"},
        ],
        "url": settings.SITE_URL + "/",
        "description": (
            "Cycle d’études franco-marocain piloté par la Région Occitanie avec l’Association "
            "des Régions du Maroc et Régions de France, financé par l’Agence française de "
            "développement."
        ),
    }


# --- Building and signing --------------------------------------------------------------------


def rule_in_words(rule: Rule) -> str:
    """The completion rule, in French (the credential's language)."""
    parts = [
        f"Avoir assisté à au moins {rule.min_attendance_percent} % des séances tenues depuis "
        "l’inscription, sans séance tenue restée sans relevé de présence."
    ]
    if rule.min_hours:
        parts.append(f"Avoir suivi au moins {_hours(rule.min_hours)} heures.")
    parts.append(
        "Un retard compte comme une présence."
        if rule.late_counts_as_present
        else "Un retard compte comme une absence."
    )
    parts.append(
        {
            ExcusedPolicy.EXCLUDE: "Une absence excusée est retirée du décompte.",
            ExcusedPolicy.ATTENDED: "Une absence excusée compte comme une présence.",
            ExcusedPolicy.ABSENT: "Une absence excusée compte comme une absence.",
        }[rule.excused_policy]
    )
    return " ".join(parts)


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def identity_hash(value: str, salt: str) -> str:
    """Open Badges' hashed identity: "sha256$" and the hex SHA-256 of value + salt."""
    return "sha256$" + hashlib.sha256((value + salt).encode()).hexdigest()


def status_position(index: int) -> tuple[int, int]:
    """(list number, index within it) of a credential's global status index."""
    return index // LIST_SIZE + 1, index % LIST_SIZE


def status_list_url(number: int) -> str:
    return _url("credentials:status-list", number)


@dataclass(frozen=True)
class CohortFacts:
    """What every credential of a cohort says about it (read once per cohort)."""

    span: dict[str, Any]  # first session's start, last session's end, planned hours
    criteria: str
    programme_name: str


def cohort_facts(cohort: Cohort) -> CohortFacts:
    span = cohort.sessions.filter(cancelled_at__isnull=True).aggregate(
        first=Min("starts_at"), last=Max("ends_at"), hours=Sum("planned_hours")
    )
    return CohortFacts(
        span=span,
        criteria=rule_in_words(rule_for_cohort(cohort)),
        programme_name=cohort.programme.name,
    )


def build_credential(
    credential: Credential, certificate: Certificate, facts: CohortFacts | None = None
) -> dict[str, Any]:
    """The Open Badges 3.0 credential of one certificate version (plain data)."""
    cohort, participant = certificate.cohort, certificate.participant
    facts = facts or cohort_facts(cohort)
    span, programme_name = facts.span, facts.programme_name
    if participant.email:
        identity_type, identity = "emailAddress", participant.email.strip().lower()
    else:  # no address: the serial stands for the person (the holder shows the PDF)
        identity_type, identity = "identifier", certificate.serial
    number, position = status_position(credential.status_index)
    list_url = status_list_url(number)
    achievement: dict[str, Any] = {
        "id": _url("credentials:achievement", cohort.pk),
        "type": ["Achievement"],
        "achievementType": "CertificateOfCompletion",
        "name": f"{programme_name} — {cohort.name}",
        "description": (
            f"Formation des élus et cadres des régions du Maroc, cohorte « {cohort.name} » "
            f"({cohort.year}) : {_hours(span['hours'] or Decimal(0))} heures prévues."
        ),
        "criteria": {"narrative": facts.criteria},
        "humanCode": cohort.code,
        "inLanguage": "fr",
        "creditsAvailable": float(span["hours"] or 0),
    }
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(identity, credential.salt),
                "identityType": identity_type,
                "hashed": True,
                "salt": credential.salt,
            }
        ],
        "achievement": achievement,
        "creditsEarned": float(certificate.hours_attended),
    }
    if span["first"] is not None:
        subject["activityStartDate"] = _iso(span["first"])
        subject["activityEndDate"] = _iso(span["last"])
    verification_url = _url("certificates:verify", certificate.verification_code)
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{credential.uid}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Certificat — {programme_name} — {cohort.name}",
        "description": (
            f"Certificat n° {certificate.serial} (version {credential.version}), "
            f"{_hours(certificate.hours_attended)} heures suivies."
        ),
        "issuer": issuer_profile(programme_name),
        "validFrom": _iso(credential.issued_at),
        "awardedDate": _iso(
            timezone.make_aware(datetime.combine(certificate.issued_on, datetime.min.time()))
        ),
        "credentialSubject": subject,
        "evidence": [
            {
                "id": verification_url,
                "type": ["Evidence"],
                "name": f"Certificat PDF n° {certificate.serial}",
                "narrative": "La page de vérification du certificat PDF (code "
                f"{certificate.verification_code}).",
            }
        ],
        "credentialStatus": {
            "id": f"{list_url}#{position}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(position),
            "statusListCredential": list_url,
        },
    }


def sign(payload: dict[str, Any], key: ECKey | None = None) -> str:
    """The compact JWS (VC-JOSE-COSE) of a credential."""
    key = key or keys().signing
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": JWT_TYPE, "cty": "vc"}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return jws.serialize_compact(header, body, key, algorithms=[ALGORITHM])


# --- Writes: called by the certificate services, in their transaction -------------------------


def credentials_issue(certificates: Iterable[Certificate], now: datetime) -> list[Credential]:
    """Sign one credential for each certificate's current version (rows inserted together,
    then signed: a credential's status index is its row's id)."""
    certificates = list(certificates)
    rows = Credential.objects.bulk_create(
        [
            Credential(
                certificate=c,
                version=c.version,
                salt=secrets.token_hex(16),
                issued_at=now,
            )
            for c in certificates
        ]
    )
    signing = keys().signing
    facts: dict[int, CohortFacts] = {}
    for row, certificate in zip(rows, certificates, strict=True):
        if certificate.cohort_id not in facts:
            facts[certificate.cohort_id] = cohort_facts(certificate.cohort)
        row.kid = str(signing.kid)
        row.token = sign(build_credential(row, certificate, facts[certificate.cohort_id]), signing)
    Credential.objects.bulk_update(rows, ["kid", "token"])
    return rows


def credentials_supersede(certificate: Certificate, now: datetime) -> int:
    """Set the bits of the certificate's current credentials: a re-issue replaces them."""
    return Credential.objects.filter(certificate=certificate, revoked_at__isnull=True).update(
        revoked_at=now, revocation=Credential.Revocation.SUPERSEDED
    )


def credentials_revoke(certificate: Certificate, now: datetime) -> int:
    return Credential.objects.filter(certificate=certificate, revoked_at__isnull=True).update(
        revoked_at=now, revocation=Credential.Revocation.REVOKED
    )


def credentials_backfill(*, limit: int = 500) -> int:
    """Sign the credentials of certificates that have none (issued before credentials
    existed); a revoked certificate's reads as revoked at once. Return how many."""
    missing = list(
        Certificate.objects.filter(credentials__isnull=True)
        .exclude(serial__startswith="pending-")
        .select_related("participant", "cohort__programme")
        .order_by("pk")[:limit]
    )
    now = timezone.now()
    with transaction.atomic():
        credentials_issue(missing, now)
        for certificate in missing:
            if certificate.status == Certificate.Status.REVOKED:
                credentials_revoke(certificate, now)
    return len(missing)


# --- The status list -------------------------------------------------------------------------


def encode_bits(indices: Iterable[int], size: int = LIST_SIZE) -> str:
    """Bitstring Status List's encodedList: bit 0 is the first byte's leftmost bit; GZIP,
    then multibase base64url ("u", no padding)."""
    bits = bytearray(size // 8)
    for index in indices:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def decode_bits(encoded: str) -> bytes:
    raw = encoded[1:] if encoded.startswith("u") else encoded
    return gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def bit_is_set(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(number: int, now: datetime | None = None) -> dict[str, Any]:
    """The revocation list number `number` (1, 2, ...), as a credential to sign."""
    start = (number - 1) * LIST_SIZE
    revoked = Credential.objects.filter(
        revoked_at__isnull=False, pk__gte=start, pk__lt=start + LIST_SIZE
    ).values_list("pk", flat=True)
    url = status_list_url(number)
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did(),
        "validFrom": _iso(now or timezone.now()),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_bits(i - start for i in revoked),
        },
    }


def status_list_token(number: int) -> str:
    return sign(status_list_credential(number))


# --- Reading ---------------------------------------------------------------------------------


def credential_payload(credential: Credential) -> dict[str, Any]:
    """The signed credential's JSON (the JWT's payload, as signed)."""
    return json.loads(_b64decode(credential.token.split(".")[1]))


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def credential_state(credential: Credential) -> str:
    """active | revoked | superseded."""
    return credential.revocation or "active"


def credentials_of(participant: Participant) -> list[dict[str, Any]]:
    """Every credential issued to the participant (for their data export): its id, the
    certificate and version, its state, the signed JWT and the credential's JSON."""
    rows = (
        Credential.objects.filter(certificate__participant=participant)
        .select_related("certificate")
        .order_by("certificate_id", "version", "pk")
    )
    return [
        {
            "id": f"urn:uuid:{row.uid}",
            "url": _url("credentials:credential-json", row.uid),
            "certificate": row.certificate.serial,
            "version": row.version,
            "issued_at": row.issued_at.isoformat(),
            "state": credential_state(row),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "kid": row.kid,
            "jwt": row.token,
            "credential": credential_payload(row),
        }
        for row in rows
    ]


def current_credentials(certificate_ids: Iterable[int]) -> dict[int, Credential]:
    """Each certificate's newest credential, by certificate id (one query)."""
    newest: dict[int, Credential] = {}
    for row in Credential.objects.filter(certificate_id__in=list(certificate_ids)).order_by(
        "certificate_id", "version", "pk"
    ):
        newest[row.certificate_id] = row
    return newest


# --- Verification ----------------------------------------------------------------------------

REASONS: dict[str, Promise] = {
    "valid": _("The signature is the issuer's and the credential has not been revoked."),
    "revoked": _("The issuer has revoked this credential: %(why)s"),
    "superseded": _(
        "The issuer has revoked this credential: it was replaced by a newer version when the "
        "certificate was re-issued."
    ),
    "signature": _("The signature does not match the content: the credential was altered."),
    "malformed": _("This is not a credential this verifier can read (a JWT or its JSON)."),
    "contexts": _("The credential uses JSON-LD contexts this verifier does not know."),
    "content": _("The content differs from the credential the issuer signed."),
    "not_found": _("The issuer has no record of this credential."),
    "issuer": _("The credential names another issuer: %(issuer)s."),
    "key": _("The credential was signed with a key the issuer never published."),
}


@dataclass(frozen=True)
class CredentialCheck:
    status: str  # valid | revoked | tampered | unknown_issuer
    reason: str  # a key of REASONS
    credential: dict[str, Any] | None = None
    record: Credential | None = None
    detail: str = ""

    def message(self) -> str:
        """The reason in the active language."""
        return str(REASONS[self.reason]) % {"why": self.detail, "issuer": self.detail}

    def messages(self) -> dict[str, str]:
        out = {}
        for language in ("fr", "ar", "en"):
            with translation.override(language):
                out[language] = self.message()
        return out

    def public(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "reason_code": self.reason,
            "reason": self.message(),
            "reasons": self.messages(),
        }
        if self.credential is not None and self.status in {"valid", "revoked"}:
            subject = self.credential.get("credentialSubject", {})
            achievement = subject.get("achievement", {})
            data["credential"] = {
                "id": self.credential.get("id"),
                "name": self.credential.get("name"),
                "achievement": achievement.get("name"),
                "valid_from": self.credential.get("validFrom"),
                "hours": subject.get("creditsEarned"),
                "evidence": [e.get("id") for e in self.credential.get("evidence", [])],
            }
        return data


def _parse(text: str) -> tuple[str | None, dict[str, Any] | None]:
    """(a compact JWS, or None) and (the credential's JSON, or None) from what was pasted."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None, None
        if not isinstance(data, dict):
            return None, None
        enveloped = data.get("id", "")
        if data.get("type") == "EnvelopedVerifiableCredential" and isinstance(enveloped, str):
            return enveloped.split(",", 1)[-1], None
        return None, data
    return (text, None) if text.count(".") == 2 else (None, None)


def _tampered(reason: str, credential: dict[str, Any] | None = None) -> CredentialCheck:
    return CredentialCheck("tampered", reason, credential)


def credential_verify(text: str) -> CredentialCheck:
    """Check a credential (its JWT, its JSON, or an enveloped credential): valid, revoked,
    tampered or unknown issuer, with the reason. Only the local contexts are read."""
    token, data = _parse(text)
    if token is None and data is None:
        return _tampered("malformed")
    if token is not None:
        try:
            header = json.loads(_b64decode(token.split(".")[0]))
            data = json.loads(_b64decode(token.split(".")[1]))
        except (ValueError, UnicodeDecodeError):
            return _tampered("malformed")
        if not isinstance(header, dict) or not isinstance(data, dict):
            return _tampered("malformed")
    assert data is not None  # noqa: S101 (both None returned above)
    issuer = data.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id != issuer_did():
        return CredentialCheck("unknown_issuer", "issuer", data, detail=str(issuer_id))
    contexts = data.get("@context")
    if not isinstance(contexts, list) or not all(
        isinstance(c, str) and c in CONTEXT_FILES for c in contexts
    ):
        return _tampered("contexts", data)
    for url in contexts:
        load_context(url)  # the local copy: a verifier never fetches one
    if token is not None:
        if not _has_kid(header):
            return CredentialCheck("unknown_issuer", "key", data)
        try:
            jws.deserialize_compact(token, keys().published, algorithms=[ALGORITHM])
        except (JoseError, ValueError):
            return _tampered("signature", data)
    record = _record(data)
    if record is None:  # in our name, but not in our records
        return CredentialCheck("unknown_issuer", "not_found", data)
    if token is None and credential_payload(record) != data:
        return _tampered("content", data)
    if record.revocation == Credential.Revocation.SUPERSEDED:
        return CredentialCheck("revoked", "superseded", data, record)
    if record.revoked_at is not None:
        return CredentialCheck(
            "revoked", "revoked", data, record, detail=record.certificate.revocation_reason
        )
    return CredentialCheck("valid", "valid", data, record)


def _has_kid(header: dict[str, Any]) -> bool:
    kid = header.get("kid")
    if not isinstance(kid, str):
        return False
    try:
        keys().published.get_by_kid(kid)
    except JoseError:
        return False
    return True


def _record(data: dict[str, Any]) -> Credential | None:
    ident = data.get("id")
    if not isinstance(ident, str) or not ident.startswith("urn:uuid:"):
        return None
    try:
        uid = uuid.UUID(ident.removeprefix("urn:uuid:"))
    except ValueError:
        return None
    return Credential.objects.select_related("certificate").filter(uid=uid).first()


# --- QR code ---------------------------------------------------------------------------------


def qr_svg(value: str) -> str:
    """A QR code of value as SVG (dark modules as one path, 4-module quiet zone)."""
    from certificates.pdf import qr_matrix

    modules = qr_matrix(value)
    size = len(modules) + 8
    path = "".join(
        f"M{x + 4},{y + 4}h1v1h-1z"
        for y, row in enumerate(modules)
        for x, dark in enumerate(row)
        if dark
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )
