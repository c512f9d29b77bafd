"""Any other system's export, read through a mapping (``--map mapping.toml``) or a shipped
preset (``--preset ja-sfa``): which column is the date, the rep, the client, the kind, the
subject, the note and the record id, and what the kind column's values mean.

Headers are matched as :func:`~coaching.imports.activities.header_key` reads them, so a
"(※必須項目です)" or "(管理番号:…)" after a name does not matter. A cell naming several people
or clients (split on ``;``, ``,``, ``、`` or ``//``) belongs to the first rep on the roster and
the first client. Without an id column, the row's values make its external id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from coaching.imports.activities import Activity, Context, Record, Skip, client_name, header_key
from coaching.model import Kind

FIELDS = ("date", "rep", "client", "kind", "subject", "note", "id")
REQUIRED_FIELDS = ("date", "rep", "client")

KIND_WORDS = {
    "訪問": Kind.VISIT, "往訪": Kind.VISIT, "来社": Kind.MEETING, "来訪": Kind.MEETING, "商談": Kind.MEETING,
    "打ち合わせ": Kind.MEETING, "打合せ": Kind.MEETING, "会議": Kind.MEETING, "面談": Kind.MEETING,
    "web会議": Kind.MEETING, "オンライン商談": Kind.MEETING, "オンライン": Kind.MEETING,
    "電話": Kind.CALL, "架電": Kind.CALL, "tel": Kind.CALL, "メール": Kind.EMAIL, "e-mail": Kind.EMAIL,
    "セミナー": Kind.EVENT, "イベント": Kind.EVENT, "展示会": Kind.EVENT, "チャット": Kind.MESSAGE,
}

PRESETS: dict[str, dict[str, Any]] = {
    # Column names common in Japanese SFA and spreadsheet activity logs (not one product's format):
    # each field takes the first of these the file has.
    "ja-sfa": {"columns": {
        "date": ["日付", "活動日", "実施日", "訪問日", "対応日", "活動日時", "日時"],
        "rep": ["担当者", "担当", "営業担当", "担当者名", "担当営業", "ユーザー", "入力者"],
        "client": ["顧客名", "取引先", "取引先名", "会社名", "企業名", "顧客", "訪問先"],
        "kind": ["活動種別", "種別", "活動区分", "行動種別", "区分", "活動タイプ"],
        "subject": ["件名", "タイトル", "用件", "目的"],
        "note": ["内容", "活動内容", "報告内容", "詳細", "メモ", "商談内容", "備考"],
        "id": ["活動id", "id", "活動番号", "管理番号", "レコードid"],
    }},
}


class MappingError(ValueError):
    """A mapping that cannot be used: ``field`` names what is wrong."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(f"{problem}: {detail}")
        self.problem, self.detail = problem, detail


@dataclass(frozen=True)
class ColumnMap:
    columns: dict[str, tuple[str, ...]]  # field -> header keys to try, in order
    kinds: dict[str, Kind] = field(default_factory=dict)  # a kind cell's value (casefolded) -> kind

    def resolve(self, headers: Iterable[str]) -> dict[str, str]:
        """``{field: the header this file has}``; a required field the file lacks raises."""
        present = set(headers)
        found = {f: next((h for h in names if h in present), "") for f, names in self.columns.items()}
        if missing := [f for f in REQUIRED_FIELDS if not found.get(f)]:
            raise MappingError("missing_columns", ", ".join(
                f"{f} ({' / '.join(self.columns.get(f, ())) or '-'})" for f in missing))
        return {f: h for f, h in found.items() if h}


def mapping_of(spec: Mapping[str, Any]) -> ColumnMap:
    """A mapping from a TOML document: ``[columns]`` field = "header" or ["header", ...], and an
    optional ``[kinds]`` value = kind."""
    columns = spec.get("columns")
    if not isinstance(columns, dict):
        raise MappingError("no_columns", "[columns]")
    if unknown := sorted(set(columns) - set(FIELDS)):
        raise MappingError("unknown_fields", ", ".join(unknown))
    names = {f: tuple(header_key(h) for h in ([v] if isinstance(v, str) else v)) for f, v in columns.items()
             if isinstance(v, (str, list))}
    kinds = dict(KIND_WORDS)
    for value, kind in (spec.get("kinds") or {}).items():
        try:
            kinds[header_key(value)] = Kind(str(kind).strip().lower())
        except ValueError:
            raise MappingError("bad_kind", f"{value} = {kind}") from None
    return ColumnMap(names, {header_key(k): v for k, v in kinds.items()})


def _external_id(source: str, record: Record, id_value: str) -> str:
    """``mapped:<source>:<id>``; the row's values hashed without an id, and the whole hashed
    when longer than an external id may be (200 characters)."""
    key = id_value or hashlib.sha256(json.dumps(sorted(record.row.items()), ensure_ascii=False).encode()).hexdigest()
    found = f"mapped:{source}:{key}"
    return found if len(found) <= 200 else "mapped:" + hashlib.sha256(found.encode("utf-8")).hexdigest()


def activities(rows: Iterable[Record], mapping: ColumnMap, headers: dict[str, str], ctx: Context,
               source: str) -> list[Activity]:
    """``headers``: :meth:`ColumnMap.resolve` of the file's header; ``source`` names the mapping
    (the preset, or the mapping file's name) in each external id."""
    found = []
    cell = lambda record, f: record.row.get(headers[f], "").strip() if f in headers else ""  # noqa: E731
    for record in rows:
        client = client_name(cell(record, "client"))
        if client is None:
            ctx.tally.skip(Skip.NO_CLIENT, record.file, record.line)
            continue
        rep = ctx.rep(record, cell(record, "rep"))
        on = ctx.dated(record, cell(record, "date")) if rep else None
        if rep is None or on is None:
            continue
        kind = mapping.kinds.get(header_key(cell(record, "kind"))) if cell(record, "kind") else None
        found.append(Activity(record.file, record.line, _external_id(source, record, cell(record, "id")), rep, client, on,
                              kind, cell(record, "subject"), cell(record, "note")))
    return found
