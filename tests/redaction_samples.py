"""A seeded generator of chat messages that carry secrets or personal data, and of
ordinary technical text that must survive redaction.

Every sample is random (no real key is copied from anywhere) but has the shape
its issuer documents: prefix, alphabet and length. `secret_samples` yields
(family, text, planted) where `planted` are the substrings that must not
survive; `ordinary_samples` yields (family, text) that must come back unchanged.
Both the tests and `benchmarks/redact_bench.py` use it.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable, Iterator

import phonenumbers

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
UPPER_ALNUM = string.ascii_uppercase + string.digits
PASSWORD = ALNUM + "@/!$%*^-_."

Sample = tuple[str, list[str]]


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def snowflake(rng: random.Random) -> str:
    return str(rng.randrange(10**17, 2 * 10**18))


def _say(rng: random.Random, secret: str) -> str:
    return rng.choice([
        "here is my key {s} and it still says 401",
        "tried `{s}` but the request fails",
        "```\n{s}\n```\nwhy is this rejected?",
        "is {s} supposed to work on the free plan?",
        "my config: KEY={s}",
        "export TOKEN='{s}'",
    ]).format(s=secret)


def _token_family(make: Callable[[random.Random], str]) -> Callable[[random.Random], Sample]:
    def sample(rng: random.Random) -> Sample:
        secret = make(rng)
        return _say(rng, secret), [secret]
    return sample


def _openai(rng: random.Random) -> str:
    kind = rng.choice(["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"])
    return kind + (rand(rng, ALNUM, 48) if kind == "sk-" else rand(rng, URLSAFE, 120))


def _anthropic(rng: random.Random) -> str:
    return rng.choice(["sk-ant-api03-", "sk-ant-admin01-"]) + rand(rng, URLSAFE, 93) + "AA"


def _github(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return f"github_pat_{rand(rng, ALNUM, 22)}_{rand(rng, ALNUM, 59)}"
    return rng.choice(["ghp_", "gho_", "ghs_", "ghu_"]) + rand(rng, ALNUM, 36)


def _slack(rng: random.Random) -> str:
    digits = string.digits
    return (rng.choice(["xoxb-", "xoxp-"]) + rand(rng, digits, 12) + "-" + rand(rng, digits, 13)
            + "-" + rand(rng, ALNUM, 24))


def _discord_bot(rng: random.Random) -> str:
    user = base64.b64encode(snowflake(rng).encode()).decode().rstrip("=")
    return f"{user}.{rand(rng, URLSAFE, 6)}.{rand(rng, URLSAFE, 38)}"


def _jwt(rng: random.Random) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    claims = {"sub": str(rng.randrange(10**6)), "iat": rng.randrange(1_600_000_000, 1_800_000_000)}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{rand(rng, URLSAFE, 43)}"


def _key_block(rng: random.Random, label: str) -> Sample:
    lines = [rand(rng, B64, 64) for _ in range(rng.randrange(4, 9))]
    block = f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"
    return f"my deploy fails with this key:\n```\n{block}\n```", lines


def _private_key(rng: random.Random) -> Sample:
    label = rng.choice(["RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY",
                        "PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
    return _key_block(rng, label)


def _pgp(rng: random.Random) -> Sample:
    return _key_block(rng, "PGP PRIVATE KEY BLOCK")


def _gcp(rng: random.Random) -> Sample:
    body = [rand(rng, B64, 64) for _ in range(5)]
    key_id = rand(rng, HEX, 40)
    project = "proj-" + rand(rng, string.ascii_lowercase, 6)
    email = f"svc-{rand(rng, string.ascii_lowercase, 5)}@{project}.iam.gserviceaccount.com"
    account = {"type": "service_account", "project_id": project, "private_key_id": key_id,
               "private_key": "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body)
               + "\n-----END PRIVATE KEY-----\n", "client_email": email}
    return "service account json:\n" + json.dumps(account, indent=2), [*body, key_id, email]


def _aws(rng: random.Random) -> Sample:
    key_id = "AKIA" + rand(rng, UPPER_ALNUM, 16)
    secret = rand(rng, B64, 40)
    text = rng.choice([
        f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}",
        f'{{"AccessKeyId": "{key_id}", "SecretAccessKey": "{secret}"}}',
        f"keys are {key_id} and {secret} region us-east-1",
        f"AWS_SECRET_ACCESS_KEY={secret}",
    ])
    return text, [key_id, secret]


def _webhook_url(rng: random.Random) -> Sample:
    if rng.random() < 0.5:
        token = rand(rng, URLSAFE, 68)
        url = f"https://discord.com/api/webhooks/{snowflake(rng)}/{token}"
    else:
        token = f"T{rand(rng, UPPER_ALNUM, 9)}/B{rand(rng, UPPER_ALNUM, 10)}/{rand(rng, ALNUM, 24)}"
        url = f"https://hooks.slack.com/services/{token}"
    return f"posting to {url} returns 404, any idea?", [token]


def _azure(rng: random.Random) -> Sample:
    key = rand(rng, B64, 86) + "=="
    secret = rand(rng, ALNUM, 3) + rng.choice(string.digits) + "Q~" + rand(rng, URLSAFE + "~.", 34)
    password = rand(rng, PASSWORD, 14)
    text, planted = rng.choice([
        (f"DefaultEndpointsProtocol=https;AccountName=store{rng.randrange(99)};AccountKey={key};"
         "EndpointSuffix=core.windows.net", [key]),
        (f"Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=Root;"
         f"SharedAccessKey={key}", [key]),
        (f"Server=tcp:db.database.windows.net,1433;User ID=app;Password={password};", [password]),
        (f"AZURE_CLIENT_SECRET={secret}", [secret]),
        (f"the client secret is {secret}", [secret]),
    ])
    return f"connection string:\n{text}", planted


def _url_credentials(rng: random.Random) -> Sample:
    password = rand(rng, PASSWORD, rng.randrange(10, 24))
    user = rng.choice(["", "admin", "postgres", "app_user", "default"])
    url = rng.choice(["postgres://{u}:{p}@db.internal:5432/app", "redis://{u}:{p}@cache:6379/0",
                      "mongodb+srv://{u}:{p}@cluster0.ab1cd.mongodb.net/test",
                      "amqp://{u}:{p}@rabbit.local/vhost", "https://{u}:{p}@git.example.com/r.git"])
    return f"DATABASE_URL={url.format(u=user, p=password)}" if rng.random() < 0.3 else \
        f"connecting to {url.format(u=user, p=password)} times out", [password]


def _password(rng: random.Random) -> Sample:
    password = rand(rng, PASSWORD, rng.randrange(8, 20)) + rng.choice(string.digits)
    return rng.choice([
        f"password={password}", f'DB_PASSWORD="{password}"', f"  PASSWORD: {password}",
        f"db:\n  user: app\n  password: {password}\n  host: localhost",
        f'{{"username": "app", "password": "{password}"}}', f"mysql -u root --password {password}",
        f"POSTGRES_PASSWORD: '{password}'",
    ]), [password]


def _in_prose(rng: random.Random) -> Sample:
    """A key with no issuer prefix, given away only by the sentence around it."""
    secret = rand(rng, ALNUM, rng.randrange(12, 40))
    if not any(c.isdigit() for c in secret):
        secret += str(rng.randrange(10))
    return rng.choice([
        "my api key is {s} and it keeps failing", "the token was {s}, now it's revoked",
        "Password: {s} doesn't work on staging", "tried with secret `{s}` too",
        "my key is {s}.",
    ]).format(s=secret), [secret]


def _twilio(rng: random.Random) -> Sample:
    key, token = "SK" + rand(rng, HEX, 32), rand(rng, HEX, 32)
    return rng.choice([(f"api key {key}", [key]), (f"TWILIO_AUTH_TOKEN={token}", [token])])


def _email(rng: random.Random) -> Sample:
    first = rand(rng, string.ascii_lowercase, rng.randrange(3, 9))
    local = rng.choice([first, f"{first}.{rand(rng, string.ascii_lowercase, 5)}",
                        f"{first}+docs", f"{first}{rng.randrange(100)}"])
    address = f"{local}@{rng.choice(['gmail.com', 'example.co.uk', 'corp-mail.io', 'uni.edu'])}"
    return f"reach me at {address} if you need logs", [address]


def _card(rng: random.Random) -> Sample:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15),
                                 ("37", 15), ("6011", 16), ("65", 16)])
    body = prefix + rand(rng, string.digits, length - len(prefix) - 1)
    number = body + _luhn_digit(body)
    if length == 16:
        sep = rng.choice(["", " ", "-"])
        shown = sep.join(number[i:i + 4] for i in range(0, 16, 4))
    else:
        shown = rng.choice([number, f"{number[:4]} {number[4:10]} {number[10:]}"])
    return f"charged twice on card {shown}, help", [shown]


def _luhn_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


PHONE_REGIONS = ("GB", "DE", "FR", "IN", "BR", "JP", "AU", "NG", "MX", "ES", "IT", "NL", "US")


def _phone(rng: random.Random) -> Sample:
    while True:
        region = rng.choice(PHONE_REGIONS)
        kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE,
                           phonenumbers.PhoneNumberType.FIXED_LINE])
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        national = str(example.national_number)
        keep = max(2, len(national) - 6)
        example.national_number = int(national[:keep] + rand(rng, string.digits,
                                                                len(national) - keep))
        if phonenumbers.is_valid_number(example):
            break
    style = rng.choice([phonenumbers.PhoneNumberFormat.E164,
                        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                        phonenumbers.PhoneNumberFormat.NATIONAL])
    shown = phonenumbers.format_number(example, style)
    return f"call me on {shown} after 6pm", [shown]


SECRET_FAMILIES: dict[str, Callable[[random.Random], Sample]] = {
    "openai": _token_family(_openai),
    "anthropic": _token_family(_anthropic),
    "linear": _token_family(lambda r: "lin_api_" + rand(r, ALNUM, 40)),
    "stripe": _token_family(lambda r: r.choice(["sk_live_", "rk_live_", "sk_test_"])
                            + rand(r, ALNUM, r.choice([24, 99]))),
    "gitlab": _token_family(lambda r: "glpat-" + rand(r, URLSAFE, 20)),
    "google-api": _token_family(lambda r: "AIza" + rand(r, URLSAFE, 35)),
    "huggingface": _token_family(lambda r: "hf_" + rand(r, string.ascii_letters, 34)),
    "sendgrid": _token_family(lambda r: f"SG.{rand(r, URLSAFE, 22)}.{rand(r, URLSAFE, 43)}"),
    "npm": _token_family(lambda r: "npm_" + rand(r, ALNUM, 36)),
    "github": _token_family(_github),
    "slack-token": _token_family(_slack),
    "discord-bot": _token_family(_discord_bot),
    "jwt": _token_family(_jwt),
    "webhook-url": _webhook_url,
    "private-key": _private_key,
    "pgp-private-key": _pgp,
    "gcp-service-account": _gcp,
    "aws": _aws,
    "azure": _azure,
    "url-credentials": _url_credentials,
    "password": _password,
    "twilio": _twilio,
    "secret-in-prose": _in_prose,
    "email": _email,
    "card": _card,
    "phone": _phone,
}


def secret_samples(seed: int = 7, per_family: int = 40) -> Iterator[tuple[str, str, list[str]]]:
    """(family, text, planted) for every family, `per_family` each."""
    rng = random.Random(seed)
    for family, make in SECRET_FAMILIES.items():
        for _ in range(per_family):
            text, planted = make(rng)
            yield family, text, planted


def _ordinary_fields(rng: random.Random) -> dict[str, object]:
    """Random values the ordinary-text templates draw from."""
    return {
        "blob": base64.b64encode(rng.randbytes(rng.choice([16, 32, 48, 64]))).decode(),
        "uuid": uuid.UUID(int=rng.getrandbits(128)), "n": rng.randrange(1, 999),
        "big": rng.randrange(10**5, 10**7), "tokens": rng.randrange(64, 4096),
        "hex40": rand(rng, HEX, 40), "hex7": rand(rng, HEX, 7), "hex64": rand(rng, HEX, 64),
        "hex6": rand(rng, HEX, 6), "hresult": rand(rng, HEX.upper(), 8),
        "id1": snowflake(rng), "id2": snowflake(rng), "id3": snowflake(rng),
        "ms": rng.randrange(10**12, 2 * 10**12), "module": rand(rng, string.ascii_lowercase, 6),
        "major": rng.randrange(0, 20), "minor": rng.randrange(0, 40), "patch": rng.randrange(30),
        "py": rng.randrange(8, 14), "node": rng.randrange(16, 23),
        "port": rng.choice([3000, 5432, 6379, 8000, 8080, 27017]),
        "ip": ".".join(str(rng.randrange(256)) for _ in range(3)),
        "year": rng.randrange(2015, 2027), "month": rng.randrange(1, 13),
        "day": rng.randrange(1, 29), "hour": rng.randrange(24), "minute": rng.randrange(60),
        "cents": rng.randrange(100), "pct": rng.randrange(1, 100),
    }


ORDINARY_FAMILIES: dict[str, tuple[str, ...]] = {
    "code": (
        'data = base64.b64decode("{blob}")',
        "token = os.environ['API_TOKEN']  # {uuid}",
        "password = get_password(user_id={big})",
        "response = client.chat(max_tokens={tokens}, temperature=0.2)",
        'headers = {{"Authorization": f"Bearer {{settings.API_KEY}}"}}  # line {n}',
    ),
    "stack-trace": (
        'Traceback (most recent call last):\n  File "/usr/lib/python3.11/site-packages/'
        '{module}/core.py", line {n}, in run\n    return await self.app(scope, receive, send)\n'
        "{module}.errors.TimeoutError: timed out after {pct}s (request id {uuid})",
    ),
    "ids-and-hashes": (
        "fixed in commit {hex40} (short {hex7})",
        "message id {id1} in <#{id2}> by <@{id3}>",
        "image digest sha256:{hex64}",
        "trace {uuid} at epoch ms {ms}",
        "HRESULT 0x{hresult} from order #{big}",
    ),
    "versions": (
        "upgraded from v{major}.{minor}.{patch} to {major}.{minor}.{n}-rc.{pct}",
        "pip install fastapi=={major}.{minor}.{patch} uvicorn>={major}.{minor}",
        '"dependencies": {{"eslint": "^{major}.{minor}.{patch}"}}',
        "python 3.{py}.{patch} on node v{node}",
    ),
    "urls": (
        "see https://docs.example.com/guide/install?tab=pip#step-{pct}",
        "the server is at http://localhost:{port}/api/v1/users/@me",
        "connect to 10.{ip}:{port}",
        "clone git@github.com:acme/tool-{pct}.git then run it on port {port}",
        "redis://cache.internal:{port}/0 works but the worker can't reach it",
    ),
    "numbers-and-dates": (
        "since {year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z",
        "on {day:02d}/{month:02d}/{year} the build took {n}.{pct}s",
        "colour #{hex6} on the button, {pct}% opacity",
        "{n:,}{minute:03d} rows, {pct} failed",
        "we pay ${n}.{cents:02d}/month for {pct} GB",
        "lines {pct}-{n} of app.py",
        "on {year}-{month:02d}-{day:02d} {n} users hit it",
        "seit {day:02d}.{month:02d}.{year} geht es nicht",
        "build {year}.{month:02d}.{day:02d} {big} failed",
    ),
    "prose": (
        "my token expired after an hour, how do I refresh it?",
        "Password: is that field required when using SSO?",
        "where do I put the api key, in the header or the query string?",
        "tokens starting with ghp_ are classic tokens, right?",
        "the task-runner and sk-learn pipeline both fail",
        "set secret_key_name in the dashboard, not the secret itself",
        "the key is v{major}.{minor}.{patch} of the schema, not the old one",
        "my token: expired after {pct} minutes",
        "the key: config.yaml has it, token was {pct}{n} chars long",
        "password is required since v{major}.{minor}",
        "which key is uuid4? the secret was rotated on {year}-{month:02d}-{day:02d}",
        "the partition key is tenantId{pct} and the sort key is createdAt",
    ),
}


def ordinary_samples(seed: int = 11, per_family: int = 60) -> Iterator[tuple[str, str]]:
    """(family, text) of ordinary technical chat that must survive unchanged."""
    rng = random.Random(seed)
    for family, templates in ORDINARY_FAMILIES.items():
        for _ in range(per_family):
            yield family, rng.choice(templates).format(**_ordinary_fields(rng))
