"""Filenames, content types and Content-Disposition (pure functions)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from graphql_api.media import rules


@pytest.mark.parametrize(
    ("raw", "display", "key"),
    [
        ("photo.png", "photo.png", "photo.png"),
        ("../../etc/passwd", "passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\report.pdf", "report.pdf", "report.pdf"),
        ("in\u202egnp.exe", "ingnp.exe", "ingnp.exe"),
        ("a\x00b\x1fc\x7f.txt", "abc.txt", "abc.txt"),
        ("Prüfbericht März.pdf", "Prüfbericht März.pdf", "Prufbericht_Marz.pdf"),
        ("写真.jpg", "写真.jpg", "file.jpg"),
        ("..", "file", "file"),
        ("dir/", "file", "file"),
        ("   ", "file", "file"),
        (".hidden", ".hidden", "file.hidden"),
        ("a b;c\"d'e.png", "a b;c\"d'e.png", "a_b_c_d_e.png"),
    ],
)
def test_names(raw: str, display: str, key: str) -> None:
    assert rules.display_name(raw) == display
    assert rules.key_name(rules.display_name(raw)) == key


def test_long_names_keep_their_extension() -> None:
    name = rules.display_name("x" * 1000 + ".docx")
    assert len(name) == rules.MAX_FILENAME and name.endswith(".docx")
    key = rules.key_name(name)
    assert len(key) == rules.MAX_KEY_NAME and key.endswith(".docx")
    assert len(rules.display_name("y" * 1000)) == rules.MAX_FILENAME


def test_content_types() -> None:
    assert rules.content_type(" Image/JPEG ") == "image/jpeg"
    for allowed in ("image/heic", "application/vnd.ms-excel", "text/csv", "application/pdf"):
        assert rules.content_type(allowed) == allowed
    for refused in ("text/html", "image/svg+xml", "application/javascript", "text/plain; a=b", ""):
        assert rules.content_type(refused) is None


def test_content_disposition() -> None:
    assert rules.content_disposition("report.pdf") == 'attachment; filename="report.pdf"'
    header = rules.content_disposition('Prüf "1".pdf')
    assert header.startswith("attachment; filename=\"Pr_f _1_.pdf\"; filename*=UTF-8''")
    encoded = header.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == 'Prüf "1".pdf'
    assert all(ch.isascii() and ch not in ' ";' for ch in encoded)
