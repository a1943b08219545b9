"""The per-file decision: every case of base / new rendering / the user's file."""

from __future__ import annotations

import pytest

from scaffold.merge import ADD, CONFLICT, KEEP_BINARY, KEEP_DELETED, KEEP_EDITED, MERGE, REMOVE, UPDATE, decide

BASE = b"one\ntwo\nthree\nfour\nfive\n"


def plan(base, new, ours):
    """merge.decide over every path of base and new (what plan.make_plan does per file)."""
    return [
        change
        for path in sorted(set(base) | set(new))
        if (change := decide(path, base.get(path), new.get(path), ours.get(path))) is not None
    ]


def only(changes):
    assert len(changes) == 1, changes
    return changes[0]


def test_untouched_file_follows_the_new_rendering():
    change = only(plan({"a": BASE}, {"a": BASE.replace(b"two", b"TWO")}, {"a": BASE}))
    assert (change.action, change.content) == (UPDATE, BASE.replace(b"two", b"TWO"))


def test_edit_away_from_the_change_is_kept():
    ours = BASE.replace(b"five", b"five  # mine")
    change = only(plan({"a": BASE}, {"a": BASE.replace(b"one", b"ONE")}, {"a": ours}))
    assert change.action == MERGE
    assert change.content == b"ONE\ntwo\nthree\nfour\nfive  # mine\n"


def test_edit_on_the_changed_line_is_a_conflict_holding_both():
    change = only(plan({"a": BASE}, {"a": BASE.replace(b"three", b"THREE")}, {"a": BASE.replace(b"three", b"3")}))
    assert change.action == CONFLICT
    text = change.content.decode()
    assert "<<<<<<< yours (a)" in text and "3\n" in text and "THREE\n" in text and ">>>>>>> lossgen update" in text
    assert text.startswith("one\ntwo\n") and text.endswith("four\nfive\n")


@pytest.mark.parametrize("ours", [BASE, BASE.replace(b"one", b"mine")])
def test_nothing_to_do_when_lossgen_did_not_change_the_file(ours):
    assert plan({"a": BASE}, {"a": BASE}, {"a": ours}) == []


def test_user_already_has_the_new_content():
    new = BASE.replace(b"two", b"TWO")
    assert plan({"a": BASE}, {"a": new}, {"a": new}) == []


def test_deleted_file_stays_deleted():
    assert only(plan({"a": BASE}, {"a": BASE + b"six\n"}, {"a": None})).action == KEEP_DELETED
    assert plan({"a": BASE}, {"a": BASE}, {"a": None}) == []


def test_new_template_file_is_added():
    change = only(plan({}, {"b": b"new\n"}, {"b": None}))
    assert (change.action, change.content) == (ADD, b"new\n")


def test_dropped_file_removed_only_if_unchanged():
    assert only(plan({"a": BASE}, {}, {"a": BASE})).action == REMOVE
    assert only(plan({"a": BASE}, {}, {"a": BASE + b"mine\n"})).action == KEEP_EDITED
    assert plan({"a": BASE}, {}, {"a": None}) == []


def test_a_users_file_where_lossgen_now_writes_one_is_a_conflict_not_a_loss():
    change = only(plan({}, {"b": b"lossgen\n"}, {"b": b"mine\n"}))
    assert change.action == CONFLICT and b"mine\n" in change.content and b"lossgen\n" in change.content


def test_plan_never_names_files_lossgen_does_not_know():
    assert plan({"a": BASE}, {"a": BASE}, {"a": BASE, "untracked.py": b"x"}) == []


def test_binary_files_are_never_line_merged():
    png = b"\x89PNG\r\n\x1a\n\x00\x00old"
    assert only(plan({"p.png": png}, {"p.png": png + b"new"}, {"p.png": png})).action == UPDATE
    mine = png + b"mine"
    assert only(plan({"p.png": png}, {"p.png": png + b"new"}, {"p.png": mine})).action == KEEP_BINARY


def test_an_edited_file_whose_base_cannot_be_rebuilt_is_kept_and_said(tmp_path):
    """After lossgen's templates changed, the base re-rendered today is not what lossgen wrote (its hash
    is not the recorded one): merging against it would drop lossgen's change silently, so the file is
    kept and the plan says why. Rebuilt bases (hash as recorded) still merge."""
    from scaffold import merge
    from scaffold.confine import Root, content_sha256
    from scaffold.plan import make_plan
    from scaffold.tree import Tree

    (tmp_path / "a.py").write_bytes(b"written then\nmy edit\n")
    new = Tree({"a.py": b"written now\n"})
    with Root(tmp_path) as root:
        stale = make_plan(root, new, {"a.py": content_sha256(b"written then\n")}, lambda: new)
        unchanged = make_plan(root, new, {"a.py": content_sha256(b"written now\n")}, lambda: new)
        rebuilt = make_plan(
            root, new, {"a.py": content_sha256(b"written then\n")}, lambda: Tree({"a.py": b"written then\n"})
        )
    assert [(c.path, c.action) for c in stale.changes] == [("a.py", merge.KEEP_UNMERGEABLE)]
    assert unchanged.changes == []  # lossgen writes today what it wrote then: your edit is all there is
    assert [c.action for c in rebuilt.changes] == [merge.CONFLICT]
    assert (tmp_path / "a.py").read_bytes() == b"written then\nmy edit\n"
