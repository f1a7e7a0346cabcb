"""DirectoryContents: the dynamic provider against botocore Stubbers on real ``ds`` and ``ds-data`` clients
(every call's parameters checked against the service models), and the component under Pulumi mocks."""

from __future__ import annotations

import base64
import string
from dataclasses import dataclass, field

import boto3
import dill
import pulumi
import pytest
from botocore.stub import ANY, Stubber
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

import tools.harness as harness
from hyperpod_platform import directory_contents as dc
from hyperpod_platform.directory_contents import (
    DirectoryContents,
    DirectoryContentsArgs,
    DirectoryContentsError,
    DirectoryContentsProvider,
    random_password,
    user_inputs,
)
from hyperpod_platform.settings import DirectoryUserSettings

DID = "d-1234567890"
REGION = "us-east-1"
PASSWORD = "Bind-Pass-0123456789-Aa!"
BASE = "OU=Users,OU=CORP,DC=corp,DC=example,DC=com"
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcNtHPqFcSXq+7fcpbVaM6SJE6eCAB7dKPkM8XHs7lN alice@laptop"
KEY_A2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@desktop"


def _ed25519(seed: int, comment: str) -> str:
    """A whole OpenSSH public key line (the component checks keys), made from a fixed seed."""
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32).public_key()
    return f"{key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()} {comment}"


KEY_B = _ed25519(0xB, "bob@laptop")
KEY_C = _ed25519(0xC, "carol@laptop")

ALICE = DirectoryUserSettings(
    name="alice",
    groups=("ClusterAdmin",),
    ssh_public_keys=(KEY_A,),
    email="alice@example.com",
    given_name="Alice",
    surname="Admin",
)
BOB = DirectoryUserSettings(name="bob", groups=("ClusterDev",), ssh_public_keys=(KEY_B,))


def props(
    users=(ALICE, BOB),
    groups=("ClusterDev", "ClusterAdmin"),
    password=PASSWORD,
    directory_id=DID,
    region=REGION,
    bind_user="ReadOnly",
) -> dict:
    """Inputs as the component sends them (with the password already resolved, as the provider sees it)."""
    return {
        "directory_id": directory_id,
        "region": region,
        "bind_user": bind_user,
        "bind_password": password,
        "groups": sorted(groups),
        "users": [user_inputs(u) for u in sorted(users, key=lambda u: u.name)],
    }


def state(inputs: dict, created_users=(), created_groups=(), added=(), group_dns=None) -> dict:
    """Stored outputs of an earlier create/update."""
    return {
        **inputs,
        "bind_dn": f"CN={inputs['bind_user']},{BASE}",
        "group_dns": group_dns if group_dns is not None else {g: f"CN={g},{BASE}" for g in inputs["groups"]},
        "created_users": sorted(created_users),
        "created_groups": sorted(created_groups),
        "added_memberships": [list(m) for m in sorted(added)],
        "__provider": "serialized-provider",
    }


@dataclass
class Aws:
    """Stubbed clients, the provider wired to them, and a log of every call in order (both clients)."""

    ds: Stubber
    data: Stubber
    provider: DirectoryContentsProvider
    calls: list = field(default_factory=list)
    sleeps: list = field(default_factory=list)
    regions: list = field(default_factory=list)

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    def params(self, op: str, **match) -> list[dict]:
        return [p for o, p in self.calls if o == op and all(p.get(k) == v for k, v in match.items())]

    def done(self):
        self.ds.assert_no_pending_responses()
        self.data.assert_no_pending_responses()

    # --- stub helpers (exact parameters) ------------------------------------------------------------------
    def data_access(self, *statuses: str):
        for status in statuses:
            self.ds.add_response("describe_directory_data_access", {"DataAccessStatus": status}, {"DirectoryId": DID})

    def enable_data_access(self):
        self.ds.add_response("enable_directory_data_access", {}, {"DirectoryId": DID})

    def create_group(self, name: str, conflict: bool = False):
        expected = {"DirectoryId": DID, "SAMAccountName": name, "GroupType": "Security", "GroupScope": "Global"}
        if conflict:
            self.data.add_client_error(
                "create_group", "ConflictException", f"Group {name} already exists.", expected_params=expected
            )
        else:
            self.data.add_response(
                "create_group", {"DirectoryId": DID, "SAMAccountName": name, "SID": "S-1-5-21-1"}, expected
            )

    def create_user(self, name: str, conflict: bool = False, **attrs):
        expected = {"DirectoryId": DID, "SAMAccountName": name, **attrs}
        if conflict:
            self.data.add_client_error(
                "create_user", "ConflictException", f"User {name} already exists.", expected_params=expected
            )
        else:
            self.data.add_response(
                "create_user", {"DirectoryId": DID, "SAMAccountName": name, "SID": "S-1-5-21-2"}, expected
            )

    def update_user(self, name: str, update_type: str, **attrs):
        self.data.add_response(
            "update_user", {}, {"DirectoryId": DID, "SAMAccountName": name, "UpdateType": update_type, **attrs}
        )

    def add_member(self, group: str, user: str, conflict: bool = False):
        expected = {"DirectoryId": DID, "GroupName": group, "MemberName": user}
        if conflict:
            self.data.add_client_error(
                "add_group_member", "ConflictException", "Already a member.", expected_params=expected
            )
        else:
            self.data.add_response("add_group_member", {}, expected)

    def remove_member(self, group: str, user: str):
        self.data.add_response("remove_group_member", {}, {"DirectoryId": DID, "GroupName": group, "MemberName": user})

    def delete_user(self, name: str, missing: bool = False):
        expected = {"DirectoryId": DID, "SAMAccountName": name}
        if missing:
            self.data.add_client_error(
                "delete_user", "ResourceNotFoundException", f"User {name} not found.", expected_params=expected
            )
        else:
            self.data.add_response("delete_user", {}, expected)

    def delete_group(self, name: str, missing: bool = False):
        expected = {"DirectoryId": DID, "SAMAccountName": name}
        if missing:
            self.data.add_client_error(
                "delete_group", "ResourceNotFoundException", f"Group {name} not found.", expected_params=expected
            )
        else:
            self.data.add_response("delete_group", {}, expected)

    def reset(self, name: str, password=ANY):
        self.ds.add_response("reset_user_password", {}, {"DirectoryId": DID, "UserName": name, "NewPassword": password})

    def describe_user(self, name: str):
        self.data.add_response(
            "describe_user",
            {"DirectoryId": DID, "SAMAccountName": name, "DistinguishedName": f"CN={name},{BASE}", "Enabled": True},
            {"DirectoryId": DID, "SAMAccountName": name},
        )

    def describe_group(self, name: str):
        self.data.add_response(
            "describe_group",
            {"DirectoryId": DID, "SAMAccountName": name, "DistinguishedName": f"CN={name},{BASE}"},
            {"DirectoryId": DID, "SAMAccountName": name},
        )


@pytest.fixture
def aws(monkeypatch):
    """Real boto3 clients with fake credentials behind Stubbers: no request ever leaves the process."""
    for var in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    creds = {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "fake-secret", "region_name": REGION}
    ds, data = boto3.client("ds", **creds), boto3.client("ds-data", **creds)
    aws = Aws(Stubber(ds), Stubber(data), None)  # type: ignore[arg-type]
    for client in (ds, data):
        client.meta.events.register(
            "provide-client-params.*.*", lambda params, model, **_: aws.calls.append((model.name, dict(params)))
        )

    def factory(service: str, region: str):
        aws.regions.append(region)
        return {"ds": ds, "ds-data": data}[service]

    aws.provider = DirectoryContentsProvider(client_factory=factory, sleep=aws.sleeps.append)
    with aws.ds, aws.data:
        yield aws


# --- create ----------------------------------------------------------------------------------------------
def test_create_from_scratch(aws):
    """Data access off -> enabled and waited for; groups, bind user, users with their keys, memberships,
    passwords, DN read-back, in that order; every object recorded as created by this resource."""
    aws.data_access("Disabled")
    aws.enable_data_access()
    aws.data_access("Enabling", "Enabled")
    aws.create_group("ClusterAdmin")
    aws.create_group("ClusterDev")
    aws.create_user("ReadOnly")
    aws.create_user(
        "alice",
        GivenName="Alice",
        Surname="Admin",
        EmailAddress="alice@example.com",
        OtherAttributes={"altSecurityIdentities": {"SS": [KEY_A]}},
    )
    aws.create_user("bob", OtherAttributes={"altSecurityIdentities": {"SS": [KEY_B]}})
    aws.add_member("ClusterAdmin", "alice")
    aws.add_member("ClusterDev", "bob")
    aws.reset("ReadOnly", PASSWORD)
    aws.reset("alice")
    aws.reset("bob")
    aws.describe_user("ReadOnly")
    aws.describe_group("ClusterAdmin")
    aws.describe_group("ClusterDev")

    result = aws.provider.create(props())
    aws.done()

    assert result.id == f"{DID}/contents"
    outs = result.outs
    assert outs["bind_dn"] == f"CN=ReadOnly,{BASE}"
    assert outs["group_dns"] == {"ClusterAdmin": f"CN=ClusterAdmin,{BASE}", "ClusterDev": f"CN=ClusterDev,{BASE}"}
    assert outs["created_users"] == ["ReadOnly", "alice", "bob"]
    assert outs["created_groups"] == ["ClusterAdmin", "ClusterDev"]
    assert outs["added_memberships"] == [["ClusterAdmin", "alice"], ["ClusterDev", "bob"]]
    assert {k: outs[k] for k in props()} == props()  # every input is kept for later diffs and deletes
    assert aws.sleeps == [10, 10] and set(aws.regions) == {REGION}
    ops = aws.ops()
    assert ops.index("ResetUserPassword") > max(i for i, o in enumerate(ops) if o in ("CreateUser", "AddGroupMember"))
    # Regular users get random, complex, distinct passwords that are not the bind password and never returned.
    user_pw = [aws.params("ResetUserPassword", UserName=u)[0]["NewPassword"] for u in ("alice", "bob")]
    assert len(set(user_pw)) == 2 and PASSWORD not in user_pw
    assert all(len(p) >= 20 and any(c.isupper() for c in p) and any(c.isdigit() for c in p) for p in user_pw)
    assert not any(p in repr(outs) for p in user_pw)


def test_adopt_existing_then_delete_keeps_adopted(aws):
    """An existing group or user (ConflictException) is adopted (the user's attributes are replaced) but never
    deleted, and an adopted user keeps its password; delete removes only what this resource made, including a
    membership it added between two adopted objects."""
    aws.data_access("Enabled")
    aws.create_group("ClusterAdmin", conflict=True)
    aws.create_group("ClusterDev")
    aws.create_user("ReadOnly")
    alice_attrs = dict(
        GivenName="Alice",
        Surname="Admin",
        EmailAddress="alice@example.com",
        OtherAttributes={"altSecurityIdentities": {"SS": [KEY_A]}},
    )
    aws.create_user("alice", conflict=True, **alice_attrs)
    aws.update_user("alice", "REPLACE", **alice_attrs)
    aws.create_user("bob", OtherAttributes={"altSecurityIdentities": {"SS": [KEY_B]}})
    aws.add_member("ClusterAdmin", "alice")
    aws.add_member("ClusterDev", "bob", conflict=True)  # already a member: not ours to remove later
    aws.reset("ReadOnly", PASSWORD)
    aws.reset("bob")  # alice (adopted) keeps her password
    aws.describe_user("ReadOnly")
    aws.describe_group("ClusterAdmin")
    aws.describe_group("ClusterDev")

    outs = aws.provider.create(props()).outs
    assert outs["created_users"] == ["ReadOnly", "bob"]
    assert outs["created_groups"] == ["ClusterDev"]
    assert outs["added_memberships"] == [["ClusterAdmin", "alice"]]
    assert not aws.params("ResetUserPassword", UserName="alice")

    # Delete: the membership between two adopted objects, then only the created users and group.
    aws.remove_member("ClusterAdmin", "alice")
    aws.delete_user("ReadOnly")
    aws.delete_user("bob")
    aws.delete_group("ClusterDev")
    aws.provider.delete(f"{DID}/contents", outs)
    aws.done()
    deleted = [p["SAMAccountName"] for o, p in aws.calls if o in ("DeleteUser", "DeleteGroup")]
    assert deleted == ["ReadOnly", "bob", "ClusterDev"]
    assert "alice" not in deleted and "ClusterAdmin" not in deleted


# --- diff ------------------------------------------------------------------------------------------------
def _two_key_alice(keys):
    return DirectoryUserSettings(name="alice", groups=("ClusterDev", "ClusterAdmin"), ssh_public_keys=keys)


def test_diff_reordered_groups_and_keys_is_no_change(aws):
    old = state(props(users=[_two_key_alice((KEY_A, KEY_A2))], groups=("ClusterAdmin", "ClusterDev")))
    new = props(users=[_two_key_alice((KEY_A2, KEY_A))], groups=("ClusterDev", "ClusterAdmin"))
    new["groups"] = ["ClusterDev", "ClusterAdmin"]  # even unsorted
    new["users"][0]["groups"] = ["ClusterDev", "ClusterAdmin"]
    result = aws.provider.diff(f"{DID}/contents", old, new)
    assert result.changes is False and result.replaces == []


def test_diff_new_key_is_an_update(aws):
    old = state(props(users=[_two_key_alice((KEY_A,))]))
    result = aws.provider.diff(f"{DID}/contents", old, props(users=[_two_key_alice((KEY_A, KEY_A2))]))
    assert result.changes is True and result.replaces == []


def test_diff_password_change_is_an_update_and_secrets_are_compared_by_value(aws):
    """The engine hands diff secrets wrapped; the same value wrapped is no change, a new value is."""
    old = state(props())
    same = {**props(), "bind_password": rpc.wrap_rpc_secret(PASSWORD)}
    assert aws.provider.diff(f"{DID}/contents", old, same).changes is False
    changed = {**props(), "bind_password": rpc.wrap_rpc_secret("Another-Pass-0123456789-Bb!")}
    result = aws.provider.diff(f"{DID}/contents", old, changed)
    assert result.changes is True and result.replaces == []


def test_diff_directory_change_replaces(aws):
    """Another directory (or an unknown one, being created) replaces; a region-only change deletes first, since
    the new resource would otherwise adopt the very objects the old one then deletes."""
    old = state(props())
    other = aws.provider.diff(f"{DID}/contents", old, props(directory_id="d-0987654321"))
    assert other.changes is True and other.replaces == ["directory_id"] and other.delete_before_replace is False
    unknown = aws.provider.diff(f"{DID}/contents", old, {**props(), "directory_id": pulumi.output.Unknown()})
    assert unknown.replaces == ["directory_id"]
    region = aws.provider.diff(f"{DID}/contents", old, props(region="us-west-2"))
    assert region.replaces == ["region"] and region.delete_before_replace is True


# --- update ----------------------------------------------------------------------------------------------
def test_update_applies_only_the_delta(aws):
    """Add a user, change a key, drop an email and a membership, remove a user; the bind password is unchanged,
    so it is not reset, and known DNs are not read again."""
    alice_old = DirectoryUserSettings(
        name="alice",
        groups=("ClusterAdmin", "ClusterDev"),
        ssh_public_keys=(KEY_A,),
        email="alice@example.com",
        given_name="Alice",
    )
    alice_new = DirectoryUserSettings(
        name="alice", groups=("ClusterAdmin",), ssh_public_keys=(KEY_A2,), given_name="Alice"
    )
    carol = DirectoryUserSettings(name="carol", groups=("ClusterDev",), ssh_public_keys=(KEY_C,), surname="Coder")
    old = state(
        props(users=[alice_old, BOB]),
        created_users=["ReadOnly", "alice", "bob"],
        created_groups=["ClusterAdmin", "ClusterDev"],
        added=[("ClusterAdmin", "alice"), ("ClusterDev", "alice"), ("ClusterDev", "bob")],
    )
    new = props(users=[alice_new, carol])

    aws.data_access("Enabled")
    aws.remove_member("ClusterDev", "alice")  # bob's membership goes with bob
    aws.delete_user("bob")
    aws.update_user("alice", "REPLACE", OtherAttributes={"altSecurityIdentities": {"SS": [KEY_A2]}})
    aws.update_user("alice", "REMOVE", EmailAddress="alice@example.com")
    aws.create_user("carol", Surname="Coder", OtherAttributes={"altSecurityIdentities": {"SS": [KEY_C]}})
    aws.reset("carol")
    aws.add_member("ClusterDev", "carol")

    outs = aws.provider.update(f"{DID}/contents", old, {**new, "__provider": "serialized-provider"}).outs
    aws.done()
    assert not aws.params("ResetUserPassword", UserName="ReadOnly")
    assert outs["created_users"] == ["ReadOnly", "alice", "carol"]
    assert outs["added_memberships"] == [["ClusterAdmin", "alice"], ["ClusterDev", "carol"]]
    assert outs["users"] == new["users"] and outs["bind_dn"] == old["bind_dn"]
    assert outs["group_dns"] == old["group_dns"]
    assert "__provider" not in outs


def test_update_adds_attributes_that_had_no_value(aws):
    """A key or email on a user who had none is an ADD, as the API asks for attributes without a value;
    changing an existing value is a REPLACE."""
    bob_old = DirectoryUserSettings(name="bob", groups=("ClusterDev",), given_name="Bob")
    bob_new = DirectoryUserSettings(
        name="bob", groups=("ClusterDev",), given_name="Robert", email="bob@example.com", ssh_public_keys=(KEY_C,)
    )
    old = state(props(users=[ALICE, bob_old]), created_users=["ReadOnly", "alice", "bob"])
    aws.data_access("Enabled")
    aws.update_user(
        "bob", "ADD", EmailAddress="bob@example.com", OtherAttributes={"altSecurityIdentities": {"SS": [KEY_C]}}
    )
    aws.update_user("bob", "REPLACE", GivenName="Robert")
    aws.provider.update(f"{DID}/contents", old, props(users=[ALICE, bob_new]))
    aws.done()


def test_update_password_change_resets_only_the_bind_password(aws):
    old = state(props(), created_users=["ReadOnly", "alice", "bob"])
    new_password = "Another-Pass-0123456789-Bb!"
    aws.data_access("Enabled")
    aws.reset("ReadOnly", new_password)
    outs = aws.provider.update(f"{DID}/contents", old, props(password=new_password)).outs
    aws.done()
    assert aws.ops() == ["DescribeDirectoryDataAccess", "ResetUserPassword"]
    assert outs["bind_password"] == new_password


def test_update_removed_group_and_adopted_user(aws):
    """A removed group is deleted only if created here; an adopted user who leaves keeps the memberships it
    had before the stack, loses the ones the stack added, and is not deleted."""
    alice = DirectoryUserSettings(name="alice", groups=("ClusterAdmin", "ClusterDev"))
    bob = DirectoryUserSettings(name="bob", groups=("ClusterAdmin",))
    old = state(
        props(users=[alice, bob]),
        created_users=["ReadOnly", "bob"],
        created_groups=["ClusterDev"],
        added=[("ClusterAdmin", "bob"), ("ClusterDev", "alice")],
    )
    old_with_ours = {**old, "added_memberships": [["ClusterAdmin", "alice"], *old["added_memberships"]]}
    new = props(users=[bob], groups=("ClusterAdmin",))

    aws.data_access("Enabled")
    aws.delete_group("ClusterDev")
    outs = aws.provider.update(f"{DID}/contents", old, new).outs  # alice's ClusterAdmin membership predates us
    assert outs["created_groups"] == [] and outs["group_dns"] == {"ClusterAdmin": f"CN=ClusterAdmin,{BASE}"}
    assert outs["added_memberships"] == [["ClusterAdmin", "bob"]]

    aws.data_access("Enabled")
    aws.remove_member("ClusterAdmin", "alice")  # this time the stack had added it
    aws.delete_group("ClusterDev")
    aws.provider.update(f"{DID}/contents", old_with_ours, new)
    aws.done()
    assert not aws.params("DeleteUser")


def test_update_renamed_bind_user(aws):
    """A renamed bind user is a new user with the password and a new DN; the old one goes if created here."""
    old = state(props(), created_users=["ReadOnly"])
    aws.data_access("Enabled")
    aws.delete_user("ReadOnly")
    aws.create_user("LdapBind")
    aws.reset("LdapBind", PASSWORD)
    aws.describe_user("LdapBind")
    outs = aws.provider.update(f"{DID}/contents", old, props(bind_user="LdapBind")).outs
    aws.done()
    assert outs["bind_dn"] == f"CN=LdapBind,{BASE}" and outs["created_users"] == ["LdapBind"]


# --- delete ----------------------------------------------------------------------------------------------
def test_delete_only_created_objects_and_tolerates_missing(aws):
    old = state(
        props(),
        created_users=["ReadOnly", "bob"],
        created_groups=["ClusterDev"],
        added=[("ClusterAdmin", "alice"), ("ClusterDev", "bob")],
    )
    aws.remove_member("ClusterAdmin", "alice")
    aws.delete_user("ReadOnly", missing=True)  # already gone
    aws.delete_user("bob")
    aws.delete_group("ClusterDev", missing=True)
    aws.provider.delete(f"{DID}/contents", old)
    aws.done()
    assert aws.ops() == ["RemoveGroupMember", "DeleteUser", "DeleteUser", "DeleteGroup"]


# --- errors ----------------------------------------------------------------------------------------------
def test_error_names_the_object_and_rolls_back(aws):
    """A failing call surfaces as 'creating user alice in d-...: <code>: <AWS message>', and what the attempt
    created is deleted again (a retry must not adopt, and so keep, it)."""
    aws.data_access("Enabled")
    aws.create_group("ClusterAdmin")
    aws.create_group("ClusterDev")
    aws.create_user("ReadOnly")
    aws.data.add_client_error(
        "create_user",
        "ValidationException",
        "Invalid attribute value.",
        expected_params={
            "DirectoryId": DID,
            "SAMAccountName": "alice",
            "GivenName": "Alice",
            "Surname": "Admin",
            "EmailAddress": "alice@example.com",
            "OtherAttributes": {"altSecurityIdentities": {"SS": [KEY_A]}},
        },
    )
    aws.delete_user("ReadOnly")
    aws.delete_group("ClusterDev")
    aws.delete_group("ClusterAdmin")
    with pytest.raises(DirectoryContentsError) as err:
        aws.provider.create(props())
    aws.done()
    assert str(err.value) == f"creating user alice in {DID}: ValidationException: Invalid attribute value."
    assert PASSWORD not in str(err.value)


def test_error_never_shows_the_password(aws):
    """Even an AWS message that echoes the password is redacted, and the original error is not chained."""
    aws.data_access("Enabled")
    aws.create_group("ClusterAdmin")
    aws.create_user("ReadOnly")
    aws.ds.add_client_error(
        "reset_user_password",
        "InvalidPasswordException",
        f"The password {PASSWORD} does not meet the requirements.",
        expected_params={"DirectoryId": DID, "UserName": "ReadOnly", "NewPassword": PASSWORD},
    )
    aws.delete_user("ReadOnly")
    aws.delete_group("ClusterAdmin")
    with pytest.raises(DirectoryContentsError) as err:
        aws.provider.create(props(users=(), groups=("ClusterAdmin",)))
    aws.done()
    message = str(err.value)
    assert message.startswith(f"setting the password of bind user ReadOnly in {DID}: InvalidPasswordException")
    assert PASSWORD not in message and "********" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_data_access_wait_is_bounded(aws):
    aws.provider.max_wait_seconds = 20
    aws.data_access("Disabled")
    aws.enable_data_access()
    aws.data_access("Enabling", "Enabling")
    with pytest.raises(DirectoryContentsError, match=f"enabling directory data access in {DID}: still Enabling"):
        aws.provider.create(props())
    aws.done()
    assert aws.sleeps == [10, 10]


# --- pieces ----------------------------------------------------------------------------------------------
def test_random_password_meets_ad_rules_and_avoids_names():
    for _ in range(200):
        pw = random_password(("bob", "Bobson", None))
        assert len(pw) == 32 and "bob" not in pw.lower()
        assert all(
            any(c in cls for c in pw)
            for cls in (string.ascii_uppercase, string.ascii_lowercase, string.digits, dc.PASSWORD_SPECIALS)
        )


def test_provider_pickles_by_reference():
    """The serialized provider names the class (importable module) instead of carrying code or clients."""
    raw = base64.b64decode(serialize_provider(DirectoryContentsProvider()))
    assert b"hyperpod_platform.directory_contents" in raw and b"boto" not in raw and len(raw) < 500
    assert type(dill.loads(raw)) is DirectoryContentsProvider


# --- the component under Pulumi mocks --------------------------------------------------------------------
NAME = "hp"


def _component_run(monkeypatch, protect: bool = True):
    """DirectoryContents built directly, with the additional secret outputs each registration asks for."""
    secret_outputs: dict[str, list[str]] = {}

    class Monitor(harness.RecordingMonitor):
        def RegisterResource(self, request):
            secret_outputs[request.name] = list(request.additionalSecretOutputs)
            return super().RegisterResource(request)

    monkeypatch.setattr(harness, "RecordingMonitor", Monitor)

    def program():
        contents = DirectoryContents(
            NAME,
            DirectoryContentsArgs(
                directory_id="d-0123456789",
                region=REGION,
                bind_user="ReadOnly",
                bind_password="plain-in-config-1A!",
                groups=("ClusterDev", "ClusterAdmin"),
                users=(BOB, ALICE),
                protect=protect,
            ),
        )
        pulumi.export("bind_dn", contents.bind_dn)
        pulumi.export("group_dns", contents.group_dns)

    result = harness.run_program(program, {"aws:region": REGION, "aws-native:region": REGION}, preview=False)
    assert result.error is None, result.error
    return result, secret_outputs


def _contents(result):
    component = result.one("hyperpod-platform:index:DirectoryContents")
    (res,) = [r for r in result.registrations if r.parent == component.urn]
    return res


def test_component_registers_a_secret_password_and_exposes_dns(monkeypatch):
    result, secret_outputs = _component_run(monkeypatch)
    res = _contents(result)
    assert res.type == "pulumi-python:dynamic:Resource" and res.name == f"{NAME}-directory-contents"
    assert res.protect is True and secret_outputs[res.name] == ["bind_password"]
    assert res.inputs["bind_password"] == {"<secret>": "plain-in-config-1A!"}  # a secret, never plain
    assert res.inputs["groups"] == ["ClusterAdmin", "ClusterDev"]
    assert res.inputs["users"] == [user_inputs(ALICE), user_inputs(BOB)]
    assert res.inputs["users"][1] == {"name": "bob", "groups": ["ClusterDev"], "ssh_public_keys": [KEY_B]}
    assert result.outputs["bind_dn"] == res.outputs["bind_dn"] and result.outputs["bind_dn"]
    assert sorted(result.outputs["group_dns"]) == ["ClusterAdmin", "ClusterDev"]
    assert result.outputs["group_dns"] == res.outputs["group_dns"]


def test_protect_false_lifts_the_contents_protection(monkeypatch):
    """The contents are protected by default (their users and groups outlive a careless destroy); protect:
    false lifts it."""
    result, _ = _component_run(monkeypatch, protect=False)
    assert _contents(result).protect is False
