"""Accounts, their users (argon2 passwords), their management API keys, and which users
are operators (they see and change the carrier connectors in the console)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from smsstreams.db.models import Account, ApiKey, User
from smsstreams.domain.errors import ValidationFailed

from .errors import Conflict, NotFound
from .secrets import API_KEY_PREFIX, display_prefix, hash_secret, new_secret, same_hash

_hasher = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class NewAccount:
    account: Account
    user: User
    api_key: str


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise ValidationFailed("invalid_email", "Enter a valid email address", "email")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            "weak_password", f"Use at least {MIN_PASSWORD} characters", "password"
        )


def create_account(
    db: Session, *, name: str, email: str, password: str, operator: bool = False
) -> NewAccount:
    name = name.strip()
    if not name:
        raise ValidationFailed("required", "Account name is required", "name")
    if len(name) > 200:
        raise ValidationFailed("too_long", "Account name is at most 200 characters", "name")
    email = normalize_email(email)
    check_password(password)
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("email_taken", "A user with this email already exists", "email")
    account = Account(name=name)
    db.add(account)
    db.flush()
    user = User(
        account_id=account.id,
        email=email,
        password_hash=hash_password(password),
        is_operator=operator,
    )
    db.add(user)
    api_key = issue_api_key(db, account.id)
    db.flush()
    return NewAccount(account=account, user=user, api_key=api_key)


def set_operator(db: Session, email: str, operator: bool) -> bool:
    """Make the user with this email an operator (or not); False when it already was so."""
    user = db.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(f"User {email.strip()!r}", "email")
    if user.is_operator == operator:
        return False
    user.is_operator = operator
    return True


def list_operators(db: Session) -> list[str]:
    """Emails of the operator users, sorted."""
    query = select(User.email).where(User.is_operator.is_(True)).order_by(User.email)
    return list(db.scalars(query))


def issue_api_key(db: Session, account_id: int) -> str:
    key = new_secret(API_KEY_PREFIX)
    db.add(ApiKey(account_id=account_id, key_hash=hash_secret(key), prefix=display_prefix(key)))
    return key


def account_for_api_key(db: Session, key: str) -> Account | None:
    digest = hash_secret(key)
    row = db.execute(
        select(ApiKey.key_hash, Account).join(Account).where(ApiKey.key_hash == digest)
    ).first()
    if row is None or not same_hash(row[0], digest):
        return None
    return row[1]


def authenticate_user(db: Session, email: str, password: str) -> User | None:
    try:
        email = normalize_email(email)
    except ValidationFailed:
        return None
    user = db.scalar(select(User).where(User.email == email))
    if user is None:
        _hasher.hash(password)  # same cost whether or not the user exists
        return None
    return user if verify_password(user.password_hash, password) else None
