"""The shape comparator: what two answers to the same request must share.

Both statuses must be equal. For errors (status >= 400) both bodies must hold an
`errors` list; messages are not compared. For successes the bodies are compared
recursively: the same keys at every level of every object (the envelope, `data`,
`auth`, ...) and the same JSON type for every value. Values are not compared (ids,
times, accessors, tokens, lease ids, uuids, version strings differ by nature), except:

- strings are classed as `time` (RFC 3339) or `str`, so a time must answer a time;
- numbers are one type (`number`), whether integers or floats;
- an empty list matches any list; a list's elements are compared to each other's shape
  (lists of equal length element by element, as batch answers' `batch_results`, whose
  items differ by outcome; otherwise each of Sigil's elements against the first of
  OpenBao's);
- structural values, named per step by `values` (dotted paths, `*` matching any one
  key), must be equal (e.g. the `type` and `options.version` of mount listings);
- an object whose keys are all generated IDs (UUIDs, e.g. a LIST's `key_info` by entity
  ID) is compared by its values, each against any of OpenBao's: the IDs differ by
  nature, and records differ in which optional fields are null;
- error messages are compared when a step names `errors` in `values`, with generated
  IDs (UUIDs) in them read as `<id>`.

A difference is a (path, message) pair; the path is dotted from the body's root, with
`status` for the status line. Allowed differences (allowed.py) remove them by path.
"""

import fnmatch
import re

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def by_ids(v):
    """Whether v is a non-empty object keyed by generated IDs only."""
    return isinstance(v, dict) and bool(v) and all(UUID.fullmatch(str(k)) for k in v)


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "time" if TIME.match(v) else "str"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def shape_diff(sigil, bao, path=""):
    """Differences between two JSON values' shapes, OpenBao's being the reference."""
    ks, kb = kind(sigil), kind(bao)
    if ks != kb:
        return [(path or "body", f"type: sigil {ks}, openbao {kb}")]
    out = []
    if ks == "object" and by_ids(sigil) and by_ids(bao):
        # Each record against any of OpenBao's (records differ in which optional maps
        # they hold), reported against the first when none matches.
        out, refs = [], list(bao.values())
        for item in sigil.values():
            if all(shape_diff(item, ref, "x") for ref in refs):
                out.extend(d for d in shape_diff(item, refs[0], _join(path, "{id}"))
                           if d not in out)
        return out
    if ks == "object":
        for k in sorted(set(bao) - set(sigil)):
            out.append((_join(path, k), f"missing in sigil (openbao: {kind(bao[k])})"))
        for k in sorted(set(sigil) - set(bao)):
            out.append((_join(path, k), f"extra in sigil ({kind(sigil[k])})"))
        for k in sorted(set(sigil) & set(bao)):
            out.extend(shape_diff(sigil[k], bao[k], _join(path, k)))
    elif ks == "list" and bao and sigil:
        seen = set()
        pairs = zip(sigil, bao) if len(sigil) == len(bao) else ((i, bao[0]) for i in sigil)
        for item, ref in pairs:
            for d in shape_diff(item, ref, _join(path, "[]")):
                if d not in seen:
                    seen.add(d)
                    out.append(d)
    return out


def lookup(body, pattern):
    """(path, value) pairs under a dotted pattern (`*` matches any one key)."""
    found = [("", body)]
    for part in pattern.split("."):
        nxt = []
        for p, v in found:
            if not isinstance(v, dict):
                continue
            for k in v:
                if fnmatch.fnmatchcase(str(k), part):
                    nxt.append((_join(p, k), v[k]))
        found = nxt
    return found


def compare(sigil, bao, values=()):
    """Differences between two exchanges' results, each a (status, body) pair."""
    (ss, sb), (bs, bb) = sigil, bao
    out = []
    if ss != bs:
        out.append(("status", f"status: sigil {ss}, openbao {bs}"))
        return out
    errs = [isinstance(b, dict) and isinstance(b.get("errors"), list) for b in (sb, bb)]
    if ss >= 400 and any(errs):
        for who, body in (("sigil", sb), ("openbao", bb)):
            if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
                out.append(("errors", f"{who}'s error body has no `errors` list: {body!r:.200}"))
        if "errors" in values and not out:
            ms, mb = ([UUID.sub("<id>", str(m)) for m in b["errors"]] for b in (sb, bb))
            if ms != mb:
                out.append(("errors", f"value: sigil {ms!r}, openbao {mb!r}"))
        return out
    out.extend(shape_diff(sb, bb))
    for pattern in values:
        vb = dict(lookup(bb, pattern))
        vs = dict(lookup(sb, pattern))
        for p in sorted(set(vb) & set(vs)):
            if vb[p] != vs[p]:
                out.append((p, f"value: sigil {vs[p]!r}, openbao {vb[p]!r}"))
    return out
