"""Reading generated/platform.json, the node contract the stack renders (hyperpod_platform/node_contract.py).

These scripts understand one schema_version (SCHEMA_VERSION, kept equal to the stack's by a test) and refuse
any other. Every top-level key must be there: a feature that is off is a key whose value is null (fsx,
login, directory); a missing key is a broken bundle and an error naming it, never "feature off". OPTIONAL keys
were added within this version: a bundle rendered before them has those features off (as null).

Usage (each failure exits 1 with one line on stderr):
  platform_json.py check PLATFORM_JSON          the version and every top-level key
  platform_json.py get PLATFORM_JSON KEY.PATH   a value ("" when it or a section on its path is null)
  platform_json.py list PLATFORM_JSON KEY.PATH  a list, one item a line, or an object, "key<TAB>value" lines
  platform_json.py enabled PLATFORM_JSON KEY    "on" when the section is an object, "off" when it is null
"""

import json
import sys

SCHEMA_VERSION = 1
REQUIRED = ("schema_version", "cluster_name", "region", "groups", "fsx", "login", "directory")
OPTIONAL = ("login_targets",)


class Broken(Exception):
    pass


def load(path: str) -> dict:
    """The parsed file, once its version and top-level keys are checked."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise Broken(f"cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise Broken(f"{path} is not a JSON object")
    if "schema_version" not in data:
        raise Broken("platform.json has no schema_version: the lifecycle bundle is broken")
    version = data["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        raise Broken(
            f"platform.json schema_version {json.dumps(version)} is not supported by these scripts "
            f"(expected {SCHEMA_VERSION})"
        )
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise Broken(f"platform.json has no {', '.join(missing)}: the lifecycle bundle is broken")
    for key in OPTIONAL:
        data.setdefault(key, None)
    return data


def get(data: dict, path: str):
    """The value at KEY.PATH. A null section on the way gives None (that feature is off); a missing key, or a
    value that is not an object where the path goes on, is an error naming it."""
    value, walked = data, []
    for part in path.split("."):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise Broken(f"platform.json {'.'.join(walked)} is not an object")
        walked.append(part)
        if part not in value:
            raise Broken(f"platform.json has no {'.'.join(walked)}: the lifecycle bundle is broken")
        value = value[part]
    return value


def lines(path: str, value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        rows = list(value.items())
    elif isinstance(value, list):
        rows = [(item,) for item in value]
    else:
        raise Broken(f"platform.json {path} is not a list or an object")
    out = []
    for row in rows:
        for item in row:
            if not isinstance(item, str) or any(c in item for c in "\t\r\n"):
                raise Broken(f"platform.json {path} holds {item!r}: not a single-line string")
        out.append("\t".join(row))
    return out


def main(argv: list[str]) -> int:
    try:
        command, file, *rest = argv
        data = load(file)
        if command == "check" and not rest:
            return 0
        (key,) = rest
        value = get(data, key)
        if command == "get":
            if isinstance(value, (dict, list)):
                print(json.dumps(value, sort_keys=True))
            else:
                print("" if value is None else value)
        elif command == "list":
            if lines(key, value):
                print("\n".join(lines(key, value)))
        elif command == "enabled":
            if value is not None and not isinstance(value, dict):
                raise Broken(f"platform.json {key} is neither an object nor null")
            print("off" if value is None else "on")
        else:
            raise ValueError(command)
    except Broken as e:
        print(e, file=sys.stderr)
        return 1
    except ValueError:
        print(__doc__.split("Usage", 1)[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
