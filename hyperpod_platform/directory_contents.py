"""Directory contents as code: the stack's groups, users, memberships and LDAP bind user in AWS Managed AD.

A Pulumi dynamic provider (:class:`DirectoryContentsProvider`) drives two AWS APIs:

* the Directory Service Data API (boto3 ``ds-data``): create, update and delete users and groups, and add or
  remove group members;
* the Directory Service API (boto3 ``ds``): switch directory data access on
  (``EnableDirectoryDataAccess``, polled with ``DescribeDirectoryDataAccess``), and set passwords
  (``ResetUserPassword``, which also enables a disabled account).

What it keeps:

* the groups (Security, Global) and the users of the config, each user's given name, surname, email and SSH
  public keys (in ``altSecurityIdentities``, which SSSD serves to sshd), and the memberships;
* the read-only bind user SSSD binds as, with the generated password from pulumi-random.

Ownership: an object that already exists when the stack first asks for it (``ConflictException``) is adopted:
its attributes are set to the config's (for users, ``altSecurityIdentities`` is replaced as a whole) but it is
recorded as not created by the stack, and is never deleted by it. Only the users and groups this resource
created (``created_users``, ``created_groups``) are deleted, on removal from the config or on destroy; of the
memberships, those the stack added (``added_memberships``) are removed when their user or group leaves the
stack's care. Adopted users keep their password and enabled state. Directory data access stays enabled on
destroy (other tools may use it). If a create or update fails, the users and groups that attempt created are
deleted again, so a retry does not adopt (and later keep) them.

Users log in with SSH keys only: a user the stack creates is enabled through ``ResetUserPassword`` with a
random password that is generated here, used once and never stored or returned.

Limits of the Data API (from the botocore service models of ``ds-data`` and ``ds``): ``ds-data`` has operations
for users, groups and memberships only (create, describe, list, search, update, delete, disable, add and remove
members); it writes only inside the directory's own organizational unit (memberships also in the AWS Delegated
Groups OU) and only in the directory's primary region; it sets no passwords (that is ``ds:ResetUserPassword``,
for users in the OU named after the NetBIOS name). Neither model has an operation for organizational units,
Group Policy objects, fine-grained password policies, DNS records or delegation of control: those need the AD
tools, e.g. on the optional domain-joined admin instance (:mod:`hyperpod_platform.directory_admin_host`). Which LDAP
attributes ``OtherAttributes`` accepts is listed in the Directory Service admin guide, not in the model; this
module relies on ``altSecurityIdentities`` being writable there.
"""

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

import pulumi
import pulumi.dynamic as dyn
from botocore.exceptions import BotoCoreError, ClientError
from pulumi.runtime import rpc

from . import checks
from ._args import ArgCheck, component_type, renamed, take
from .directory import PASSWORD_SPECIALS
from .settings import DirectoryUserSettings

SSH_KEY_ATTRIBUTE = "altSecurityIdentities"
"""LDAP attribute holding a user's OpenSSH public keys (SSSD's ``ldap_user_ssh_public_key``)."""
USER_FIELDS = (("given_name", "GivenName"), ("surname", "Surname"), ("email", "EmailAddress"))
"""Optional user fields and their Data API parameters."""
OUTPUT_KEYS = ("bind_dn", "group_dns", "created_users", "created_groups", "added_memberships")
"""Properties the provider computes (declared on the resource so they are readable as outputs)."""


def client_factory(service: str, region: str):
    """A boto3 client; the provider's default (tests pass their own factory to the provider)."""
    import boto3  # imported here so the module (and the pickled provider) never holds a client

    return boto3.client(service, region_name=region)


class DirectoryContentsError(Exception):
    """An AWS call failed; the message names the object and never contains a password."""


def random_password(avoid: Iterable[Optional[str]] = (), length: int = 32) -> str:
    """A password meeting the AD complexity rules: all four character classes, and none of the user's names
    (3+ characters, case-insensitive) inside it."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, PASSWORD_SPECIALS)
    alphabet = "".join(classes)
    tokens = [t.lower() for t in avoid if t and len(t) >= 3]
    rng = secrets.SystemRandom()
    while True:
        chars = [secrets.choice(c) for c in classes] + [secrets.choice(alphabet) for _ in range(length - 4)]
        rng.shuffle(chars)
        candidate = "".join(chars)
        if not any(t in candidate.lower() for t in tokens):
            return candidate


def _plain(value: Any) -> Any:
    """``value`` with every engine secret wrapper removed, at any depth."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _has_unknown(value: Any) -> bool:
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return False


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values or ()))


def _norm_user(user: dict) -> dict:
    """A user's properties in one canonical form (groups sorted, keys de-duplicated, absent fields None)."""
    out = {
        "name": user["name"],
        "groups": sorted(set(user.get("groups") or ())),
        "ssh_public_keys": _unique(user.get("ssh_public_keys") or ()),
    }
    out.update({f: user.get(f) or None for f, _ in USER_FIELDS})
    return out


def _comparable(key: str, value: Any) -> Any:
    """The value of input ``key`` for diffing: order-insensitive for groups and keys."""
    if value is None or _has_unknown(value):
        return value
    if key == "groups":
        return sorted(set(value))
    if key == "users":
        return sorted(
            ({**u, "ssh_public_keys": sorted(u["ssh_public_keys"])} for u in map(_norm_user, value)),
            key=lambda u: u["name"],
        )
    return value


@dataclass(frozen=True)
class _Spec:
    """The desired contents, from a property bag (inputs or stored outputs)."""

    directory_id: str
    region: str
    bind_user: str
    bind_password: str
    groups: tuple[str, ...]
    users: dict[str, dict]

    @classmethod
    def of(cls, props: dict) -> "_Spec":
        p = _plain(props)
        users = sorted((_norm_user(u) for u in p.get("users") or ()), key=lambda u: u["name"])
        return cls(
            directory_id=p["directory_id"],
            region=p["region"],
            bind_user=p["bind_user"],
            bind_password=p["bind_password"],
            groups=tuple(sorted(set(p.get("groups") or ()))),
            users={u["name"]: u for u in users},
        )

    @property
    def memberships(self) -> set[tuple[str, str]]:
        """(group, user) pairs."""
        return {(g, u["name"]) for u in self.users.values() for g in u["groups"]}


@dataclass
class _Ownership:
    """What this resource made, and may therefore undo."""

    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    memberships: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(cls, props: dict) -> "_Ownership":
        p = _plain(props)
        return cls(
            set(p.get("created_users") or ()),
            set(p.get("created_groups") or ()),
            {(g, u) for g, u in p.get("added_memberships") or ()},
        )


def _attribute_delta(old: dict, new: dict) -> dict[str, dict]:
    """UpdateUser parameters for a changed user, by UpdateType as the API documents them: ``ADD`` an attribute
    that has no value yet, ``REPLACE`` one that has, ``REMOVE`` one the config dropped."""
    delta: dict[str, dict[str, Any]] = {"ADD": {}, "REPLACE": {}, "REMOVE": {}}
    for f, param in USER_FIELDS:
        if new[f] is not None and new[f] != old[f]:
            delta["ADD" if old[f] is None else "REPLACE"][param] = new[f]
        elif new[f] is None and old[f] is not None:
            delta["REMOVE"][param] = old[f]
    old_keys, new_keys = old["ssh_public_keys"], new["ssh_public_keys"]
    if new_keys and set(new_keys) != set(old_keys):
        delta["REPLACE" if old_keys else "ADD"]["OtherAttributes"] = {SSH_KEY_ATTRIBUTE: {"SS": list(new_keys)}}
    elif not new_keys and old_keys:
        delta["REMOVE"]["OtherAttributes"] = {SSH_KEY_ATTRIBUTE: {"SS": list(old_keys)}}
    return {kind: attrs for kind, attrs in delta.items() if attrs}


def _user_attributes(user: dict) -> dict:
    """CreateUser/UpdateUser parameters for a user's attributes."""
    attrs: dict[str, Any] = {param: user[f] for f, param in USER_FIELDS if user.get(f)}
    if user.get("ssh_public_keys"):
        attrs["OtherAttributes"] = {SSH_KEY_ATTRIBUTE: {"SS": list(user["ssh_public_keys"])}}
    return attrs


class _Session:
    """The AWS calls of one provider operation on one directory, with errors that name the object."""

    def __init__(
        self,
        ds,
        data,
        directory_id: str,
        hidden: Iterable[Optional[str]],
        sleep: Callable[[float], None],
        poll_seconds: float,
        max_wait_seconds: float,
    ):
        self.ds, self.data, self.directory_id = ds, data, directory_id
        self.hidden = [h for h in hidden if h]
        self.sleep, self.poll_seconds, self.max_wait_seconds = sleep, poll_seconds, max_wait_seconds

    def _redact(self, text: str) -> str:
        for h in self.hidden:
            text = text.replace(h, "********")
        return text

    def fail(self, what: str, detail: str) -> DirectoryContentsError:
        return DirectoryContentsError(self._redact(f"{what} in {self.directory_id}: {detail}"))

    def call(self, client, op: str, what: str, absorb: Sequence[str] = (), **params) -> tuple[Optional[dict], str]:
        """Call ``op``; an error whose code is in ``absorb`` returns (None, code), any other raises."""
        try:
            return getattr(client, op)(**params), ""
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = err.get("Code", "")
            if code in absorb:
                return None, code
            detail = f"{code}: {err.get('Message') or exc}"
        except BotoCoreError as exc:
            detail = str(exc)
        # `from None`: the original exception is not chained, so nothing unredacted reaches the logs.
        raise self.fail(what, detail) from None

    # --- directory data access ---------------------------------------------------------------------
    def ensure_data_access(self) -> None:
        """Enable Directory Service Data access if needed and wait (bounded) until it is Enabled."""
        what = "enabling directory data access"
        requested, waited = False, 0.0
        while True:
            resp, _ = self.call(
                self.ds,
                "describe_directory_data_access",
                "reading directory data access",
                DirectoryId=self.directory_id,
            )
            status = resp.get("DataAccessStatus")
            if status == "Enabled":
                return
            if status == "Failed" and requested:
                raise self.fail(what, "the status became Failed")
            if status in ("Disabled", "Failed") and not requested:
                self.call(
                    self.ds,
                    "enable_directory_data_access",
                    what,
                    absorb=("DirectoryInDesiredStateException",),
                    DirectoryId=self.directory_id,
                )
                requested = True
            if waited >= self.max_wait_seconds:
                raise self.fail(what, f"still {status} after {int(waited)} seconds")
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds

    # --- groups -----------------------------------------------------------------------------------
    def create_group(self, name: str) -> bool:
        """Create a Security/Global group; False when it already existed (adopted)."""
        _, code = self.call(
            self.data,
            "create_group",
            f"creating group {name}",
            absorb=("ConflictException",),
            DirectoryId=self.directory_id,
            SAMAccountName=name,
            GroupType="Security",
            GroupScope="Global",
        )
        return not code

    def delete_group(self, name: str) -> None:
        self.call(
            self.data,
            "delete_group",
            f"deleting group {name}",
            absorb=("ResourceNotFoundException",),
            DirectoryId=self.directory_id,
            SAMAccountName=name,
        )

    def dn(self, kind: str, name: str) -> str:
        """The distinguished name of a ``user`` or ``group`` (DescribeUser / DescribeGroup)."""
        what = f"reading {kind} {name}"
        resp, _ = self.call(self.data, f"describe_{kind}", what, DirectoryId=self.directory_id, SAMAccountName=name)
        if not resp.get("DistinguishedName"):
            raise self.fail(what, "the answer has no DistinguishedName")
        return resp["DistinguishedName"]

    # --- users ------------------------------------------------------------------------------------
    def create_user(self, user: dict) -> bool:
        """Create a user with its attributes; False when it already existed (adopted: attributes replaced)."""
        name = user["name"]
        attrs = _user_attributes(user)
        _, code = self.call(
            self.data,
            "create_user",
            f"creating user {name}",
            absorb=("ConflictException",),
            DirectoryId=self.directory_id,
            SAMAccountName=name,
            **attrs,
        )
        if code and attrs:
            self.update_user(name, "REPLACE", attrs, f"adopting existing user {name}")
        return not code

    def update_user(self, name: str, update_type: str, attrs: dict, what: Optional[str] = None) -> None:
        self.call(
            self.data,
            "update_user",
            what or f"updating user {name}",
            DirectoryId=self.directory_id,
            SAMAccountName=name,
            UpdateType=update_type,
            **attrs,
        )

    def delete_user(self, name: str) -> None:
        self.call(
            self.data,
            "delete_user",
            f"deleting user {name}",
            absorb=("ResourceNotFoundException",),
            DirectoryId=self.directory_id,
            SAMAccountName=name,
        )

    def reset_password(self, name: str, password: str, what: str) -> None:
        """Set a password (this also enables a disabled account)."""
        self.hidden.append(password)
        self.call(
            self.ds, "reset_user_password", what, DirectoryId=self.directory_id, UserName=name, NewPassword=password
        )

    def enable_user(self, user: dict) -> None:
        # Users authenticate with SSH keys (served from the directory by SSSD), never with a password. AD
        # creates accounts disabled until they have one, so a random password, generated here and never
        # stored, returned or logged, enables the account and is then forgotten.
        password = random_password((user["name"], user.get("given_name"), user.get("surname")))
        self.reset_password(user["name"], password, f"enabling user {user['name']}")

    # --- memberships ------------------------------------------------------------------------------
    def add_member(self, group: str, user: str) -> bool:
        """Add ``user`` to ``group``; False when it was a member already."""
        _, code = self.call(
            self.data,
            "add_group_member",
            f"adding user {user} to group {group}",
            absorb=("ConflictException",),
            DirectoryId=self.directory_id,
            GroupName=group,
            MemberName=user,
        )
        return not code

    def remove_member(self, group: str, user: str) -> None:
        self.call(
            self.data,
            "remove_group_member",
            f"removing user {user} from group {group}",
            absorb=("ResourceNotFoundException",),
            DirectoryId=self.directory_id,
            GroupName=group,
            MemberName=user,
        )

    # --- failure handling -------------------------------------------------------------------------
    def roll_back(self, journal: list[tuple[str, str]], error: DirectoryContentsError) -> DirectoryContentsError:
        """Delete what this attempt created (newest first); the error to raise."""
        left: list[str] = []
        for kind, name in reversed(journal):
            try:
                (self.delete_user if kind == "user" else self.delete_group)(name)
            except DirectoryContentsError:
                left.append(f"{kind} {name}")
        if left:
            return DirectoryContentsError(
                f"{error} (could not delete what this attempt created: "
                f"{', '.join(left)}; delete them by hand before retrying)"
            )
        return error


class DirectoryContentsProvider(dyn.ResourceProvider):
    """Dynamic provider keeping users, groups, memberships and the bind user of a Managed AD.

    Module-level and free of clients, so Pulumi pickles it by reference; clients come from ``client_factory``
    (default: :func:`client_factory`, i.e. boto3) inside each operation.
    """

    poll_seconds: float = 10
    """Interval between DescribeDirectoryDataAccess polls."""
    max_wait_seconds: float = 600
    """Give up waiting for directory data access after this long."""

    def __init__(
        self,
        client_factory: Optional[Callable[[str, str], Any]] = None,
        sleep: Optional[Callable[[float], None]] = None,
    ):
        super().__init__()
        self.client_factory = client_factory
        self.sleep = sleep

    def _session(self, spec: _Spec, hidden: Iterable[Optional[str]] = ()) -> _Session:
        factory = self.client_factory or client_factory
        return _Session(
            factory("ds", spec.region),
            factory("ds-data", spec.region),
            spec.directory_id,
            [spec.bind_password, *hidden],
            self.sleep or time.sleep,
            self.poll_seconds,
            self.max_wait_seconds,
        )

    @staticmethod
    def _outs(props: dict, owned: _Ownership, bind_dn: str, group_dns: dict) -> dict:
        inputs = {k: v for k, v in _plain(props).items() if k not in OUTPUT_KEYS and not k.startswith("__")}
        return {
            **inputs,
            "bind_dn": bind_dn,
            "group_dns": dict(sorted(group_dns.items())),
            "created_users": sorted(owned.users),
            "created_groups": sorted(owned.groups),
            "added_memberships": [list(m) for m in sorted(owned.memberships)],
        }

    def create(self, props: dict) -> dyn.CreateResult:
        spec = _Spec.of(props)
        s = self._session(spec)
        owned = _Ownership()
        journal: list[tuple[str, str]] = []
        try:
            s.ensure_data_access()
            for g in spec.groups:
                if s.create_group(g):
                    owned.groups.add(g)
                    journal.append(("group", g))
            for user in [{"name": spec.bind_user}, *spec.users.values()]:
                if s.create_user(user):
                    owned.users.add(user["name"])
                    journal.append(("user", user["name"]))
            for g, u in sorted(spec.memberships):
                if s.add_member(g, u):
                    owned.memberships.add((g, u))
            s.reset_password(spec.bind_user, spec.bind_password, f"setting the password of bind user {spec.bind_user}")
            for name, user in spec.users.items():
                if name in owned.users:
                    s.enable_user(user)
            bind_dn = s.dn("user", spec.bind_user)
            group_dns = {g: s.dn("group", g) for g in spec.groups}
        except DirectoryContentsError as exc:
            raise s.roll_back(journal, exc) from None
        return dyn.CreateResult(id_=f"{spec.directory_id}/contents", outs=self._outs(props, owned, bind_dn, group_dns))

    def diff(self, _id: str, olds: dict, news: dict) -> dyn.DiffResult:
        olds, news = _plain(olds), _plain(news)

        def differs(key: str) -> bool:
            new = news.get(key)
            return _has_unknown(new) or _comparable(key, olds.get(key)) != _comparable(key, new)

        replaces = [k for k in ("directory_id", "region") if differs(k)]
        changes = [k for k in ("bind_user", "bind_password", "groups", "users") if differs(k)]
        return dyn.DiffResult(
            changes=bool(replaces or changes),
            replaces=replaces,
            stables=[] if replaces else ["directory_id", "region"],
            # Same directory (only the region changed): the new resource would adopt the old one's objects,
            # which the old one's delete would then remove. Delete first in that case.
            delete_before_replace=("directory_id" not in replaces) if replaces else None,
        )

    def update(self, _id: str, olds: dict, news: dict) -> dyn.UpdateResult:
        old, new = _Spec.of(olds), _Spec.of(news)
        owned = _Ownership.of(olds)
        s = self._session(new, [old.bind_password])
        journal: list[tuple[str, str]] = []
        bind_dn = _plain(olds).get("bind_dn")
        group_dns = dict(_plain(olds).get("group_dns") or {})
        removed_users = set(old.users) - set(new.users)
        removed_groups = set(old.groups) - set(new.groups)
        renamed_bind = old.bind_user != new.bind_user
        try:
            s.ensure_data_access()
            # Removals first: a name that leaves and comes back (e.g. in other letter case) is then recreated,
            # not adopted and deleted in the same run.
            for g, u in sorted(old.memberships - new.memberships):
                if (u in removed_users and u in owned.users) or (g in removed_groups and g in owned.groups):
                    continue  # goes with the user or group, deleted below
                if (u in removed_users or g in removed_groups) and (g, u) not in owned.memberships:
                    continue  # predates the stack, whose care of the user or group ends here: left alone
                s.remove_member(g, u)
            for u in sorted(removed_users | ({old.bind_user} if renamed_bind else set())):
                if u in owned.users and u not in new.users and u != new.bind_user:
                    s.delete_user(u)
                    owned.users.discard(u)
            for g in sorted(removed_groups):
                if g in owned.groups:
                    s.delete_group(g)
                    owned.groups.discard(g)
                group_dns.pop(g, None)
            owned.memberships &= new.memberships

            for g in new.groups:
                if g not in old.groups and s.create_group(g):
                    owned.groups.add(g)
                    journal.append(("group", g))
            if renamed_bind:
                if s.create_user({"name": new.bind_user}):
                    owned.users.add(new.bind_user)
                    journal.append(("user", new.bind_user))
            if renamed_bind or new.bind_password != old.bind_password:
                s.reset_password(new.bind_user, new.bind_password, f"setting the password of bind user {new.bind_user}")
            for name, user in new.users.items():
                if name in old.users:
                    for update_type, attrs in _attribute_delta(old.users[name], user).items():
                        s.update_user(name, update_type, attrs)
                elif s.create_user(user):
                    owned.users.add(name)
                    journal.append(("user", name))
                    s.enable_user(user)
            for g, u in sorted(new.memberships - old.memberships):
                if s.add_member(g, u):
                    owned.memberships.add((g, u))

            if renamed_bind or not bind_dn:
                bind_dn = s.dn("user", new.bind_user)
            for g in new.groups:
                if g not in group_dns:
                    group_dns[g] = s.dn("group", g)
        except DirectoryContentsError as exc:
            raise s.roll_back(journal, exc) from None
        return dyn.UpdateResult(outs=self._outs(news, owned, bind_dn, group_dns))

    def delete(self, _id: str, props: dict) -> None:
        spec = _Spec.of(props)
        owned = _Ownership.of(props)
        s = self._session(spec)
        for g, u in sorted(owned.memberships):
            if u not in owned.users and g not in owned.groups:  # otherwise it goes with the user or group
                s.remove_member(g, u)
        for u in sorted(owned.users):
            s.delete_user(u)
        for g in sorted(owned.groups):
            s.delete_group(g)


class DirectoryContentsResource(dyn.Resource):
    """The dynamic resource (type ``pulumi-python:dynamic:Resource``) behind :class:`DirectoryContents`."""

    bind_dn: pulumi.Output[str]
    group_dns: pulumi.Output[dict[str, str]]
    created_users: pulumi.Output[list[str]]
    created_groups: pulumi.Output[list[str]]
    added_memberships: pulumi.Output[list[str]]

    def __init__(self, name: str, props: dict, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(DirectoryContentsProvider(), name, {**props, **{k: None for k in OUTPUT_KEYS}}, opts)


def user_inputs(user: DirectoryUserSettings) -> dict:
    """A user as the resource's plain input (groups sorted, absent fields left out)."""
    out: dict[str, Any] = {
        "name": user.name,
        "groups": sorted(set(user.groups)),
        "ssh_public_keys": list(user.ssh_public_keys),
    }
    out.update({f: getattr(user, f) for f, _ in USER_FIELDS if getattr(user, f) is not None})
    return out


@dataclass
class DirectoryContentsArgs:
    """Inputs of :class:`DirectoryContents`."""

    directory_id: pulumi.Input[str]
    """The Managed Microsoft AD (``d-...``); changing it replaces the contents."""
    region: str
    """The directory's primary region (the Data API works there only)."""
    bind_user: str
    """sAMAccountName of the read-only user SSSD binds as, e.g. ``ReadOnly``."""
    bind_password: pulumi.Input[str]
    """The bind user's password (a Pulumi secret from pulumi-random); kept secret in state."""
    groups: Sequence[str]
    """Groups the stack keeps, e.g. ``ClusterAdmin``, ``ClusterDev``."""
    users: Sequence[DirectoryUserSettings]
    """Users the stack keeps, with their groups, SSH keys and names."""
    protect: bool = True
    """Protect the contents from ``pulumi destroy`` and replacement."""


def contents_inputs(args: DirectoryContentsArgs) -> dict:
    """The dynamic resource's inputs: plain, JSON-friendly values, with the password as a secret Output."""
    return {
        "directory_id": args.directory_id,
        "region": args.region,
        "bind_user": args.bind_user,
        "bind_password": pulumi.Output.secret(args.bind_password),
        "groups": sorted(set(args.groups)),
        "users": [user_inputs(u) for u in sorted(args.users, key=lambda u: u.name)],
    }


class DirectoryContents(pulumi.ComponentResource):
    """The directory's groups, users, memberships and bind user, kept through the Directory Service Data API."""

    # ``self.contents``: the dynamic resource doing the work. Not annotated: a dynamic resource has no schema
    # type, so it stays out of the component's published outputs.
    bind_dn: pulumi.Output[str]
    """Distinguished name of the bind user (SSSD's ``ldap_default_bind_dn``)."""
    group_dns: pulumi.Output[dict[str, str]]
    """Group name -> distinguished name, for every kept group."""

    def __init__(self, name: str, args: DirectoryContentsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args, check = take("DirectoryContents", DirectoryContentsArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("DirectoryContents"), name, None, renamed(opts, "DirectoryContents"))
        self.contents = DirectoryContentsResource(
            f"{name}-directory-contents",
            contents_inputs(args),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, additional_secret_outputs=["bind_password"]),
        )
        self.bind_dn = self.contents.bind_dn
        self.group_dns = self.contents.group_dns
        self.register_outputs({"bind_dn": self.bind_dn, "group_dns": self.group_dns})


def _check_args(args: DirectoryContentsArgs, check: ArgCheck) -> None:
    """What the Data API can keep: the directory's id and region, account and group names AD accepts and that
    clash with no other (AD names are one case-insensitive space: users, groups and the bind user), users in
    groups the stack keeps, with OpenSSH public key lines (never a private key; at most 25), email addresses
    and names. The bind password is never judged here (nor shown)."""
    check.check("directory_id", args.directory_id, checks.directory_id)
    check.check("region", args.region, checks.region_name)
    check.check("bind_user", args.bind_user, checks.account_name("bind user names"))
    check.each("groups", args.groups, checks.ad_group, same=str.lower)
    groups = {g.lower() for g in args.groups}
    if args.bind_user.lower() in groups:
        why = "is also the name of a group (AD names are unique across users and groups)"
        check.fail("bind_user", args.bind_user, why, "rename the group or the bind user")
    seen: dict[str, int] = {}
    for i, user in enumerate(args.users):
        _check_user(args, user, i, groups, seen, check)


def _check_user(
    args: DirectoryContentsArgs,
    user: DirectoryUserSettings,
    i: int,
    groups: set[str],
    seen: dict[str, int],
    check: ArgCheck,
) -> None:
    """User ``i``: a name of its own, groups the stack keeps, SSH public key lines, email and names."""
    path, name = f"users[{i}]", user.name.lower()
    if checks.account_name("user names")(user.name):
        check.check(f"{path}.name", user.name, checks.account_name("user names"))
    elif name in seen:
        why = f"repeats users[{seen[name]}].name (names are case-insensitive)"
        check.fail(f"{path}.name", user.name, why, "give each user its own name")
    elif name == args.bind_user.lower():
        why = "is the bind user, which the component keeps itself"
        check.fail(f"{path}.name", user.name, why, "rename the user, or use another bind_user")
    elif name in groups:
        why = "is also the name of a group (AD names are unique across users and groups)"
        check.fail(f"{path}.name", user.name, why, "rename the user or the group")
    seen.setdefault(name, i)

    def kept(g: str):
        if g in args.groups:
            return None
        return ("is not one of groups (the groups the stack keeps)", f"use one of: {', '.join(args.groups)}")

    check.each(f"{path}.groups", user.groups, kept, same=str)
    keys = list(user.ssh_public_keys)
    check.each(
        f"{path}.ssh_public_keys",
        keys,
        lambda v: checks.ssh_key_characters(v) or checks.ssh_key_line(v),
        same=checks.ssh_key_identity,
    )
    if len(keys) > checks.MAX_SSH_KEYS:
        why = f"the Directory Service Data API keeps at most {checks.MAX_SSH_KEYS} keys (altSecurityIdentities)"
        check.fail(f"{path}.ssh_public_keys", len(keys), why, f"give at most {checks.MAX_SSH_KEYS} keys")
    check.check(f"{path}.email", user.email, checks.email)
    check.check(f"{path}.given_name", user.given_name, checks.name_part)
    check.check(f"{path}.surname", user.surname, checks.name_part)
