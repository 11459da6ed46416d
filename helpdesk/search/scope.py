"""Who may find what, read from the access rule itself: a domain's permission-checked SELECT (e.g.
``tickets.access.visible_tickets(actor)``) turned into a search ``Filter`` over the fields a collection
indexes, so search follows the rule the lists use and holds no copy of it.

Only comparisons of indexed columns translate (equals, IN a list, IS NULL, AND, OR, false). What does not
(a subquery, a column the index lacks) widens the filter instead: the filter may allow more than the
rule, never less, and callers check every hit against the same SELECT in the database."""
from sqlalchemy.sql import elements, operators

from helpdesk.search.backend import AllOf, AnyOf, Is, Nothing


class _Wider(Exception):
    """This part of the rule has no index equivalent: allow everything in its place."""


def filter_from_select(statement, table, columns):
    """The search filter for ``statement``'s WHERE clause (None: every document).

    ``columns`` maps a column name of ``table`` to (index field, value stored for NULL or None)."""
    clause = statement.whereclause
    if clause is None:
        return None
    try:
        return _translate(clause, table, columns)
    except _Wider:
        return None


def _translate(clause, table, columns):
    if isinstance(clause, elements.BooleanClauseList):
        return _translate_list(clause, table, columns)
    if isinstance(clause, elements.False_) or (
            isinstance(clause, elements.AsBoolean) and isinstance(clause.element, elements.False_)
            and clause.operator is operators.is_true):
        return Nothing()
    if isinstance(clause, elements.BinaryExpression):
        return _translate_comparison(clause, table, columns)
    raise _Wider


def _translate_list(clause, table, columns):
    if clause.operator is operators.and_:
        parts = []
        for part in clause.clauses:
            try:
                translated = _translate(part, table, columns)
            except _Wider:
                continue  # one condition fewer: a wider filter
            if translated is not None:
                parts.append(translated)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else AllOf(*parts)
    if clause.operator is operators.or_:
        parts = [_translate(part, table, columns) for part in clause.clauses]  # any wider part widens all
        if any(part is None for part in parts):
            raise _Wider
        return AnyOf(*parts)
    raise _Wider


def _translate_comparison(clause, table, columns):
    column = clause.left
    if getattr(column, "table", None) is not table or column.name not in columns:
        raise _Wider
    field, null = columns[column.name]
    value = clause.right
    if clause.operator is operators.eq and isinstance(value, elements.BindParameter):
        return Is(field, value.value)
    if clause.operator is operators.in_op and isinstance(value, elements.BindParameter) and value.expanding:
        return Is(field, *value.value) if value.value else Nothing()
    if clause.operator is operators.is_ and isinstance(value, elements.Null) and null is not None:
        return Is(field, null)
    raise _Wider
