"""The multicorn2 suite runner (pgdl_tools/multicorn_suite.py) cuts psql's
echoed output into statements and renames only what it must."""

from pgdl_tools.multicorn_suite import compare, rename, statements

SQL = """CREATE EXTENSION multicorn;
-- a comment
CREATE server s foreign data wrapper multicorn options (
    wrapper 'multicorn.testfdw.TestForeignDataWrapper'
);
select ';' as semi, $$ a; b $$ as body;
\\i other.include
DROP EXTENSION multicorn cascade;
"""


def test_statements_are_found_by_their_first_line():
    assert statements(rename(SQL)) == [
        "CREATE EXTENSION pgdl;",
        "CREATE server s foreign data wrapper pgdl_fdw options (",
        "select ';' as semi, $$ a; b $$ as body;",
        "\\i other.include",
        "DROP EXTENSION pgdl cascade;",
    ]


def test_only_the_extension_wrapper_and_module_names_are_renamed():
    renamed = rename(SQL)
    assert "'multicorn_suite.testfdw.TestForeignDataWrapper'" in renamed
    assert "foreign data wrapper pgdl_fdw" in renamed
    assert rename("select 'multicorn' as name") == "select 'multicorn' as name"


def test_statements_compare_one_by_one():
    sql = "select 1;\nselect 2;\n"
    expected = "select 1;\n one\nselect 2;\n two\n"
    assert compare(expected, expected, statements(sql))[:2] == (2, 0)
    identical, differing, diff = compare(expected, "select 1;\n one\nselect 2;\n 2\n",
                                         statements(sql))
    assert (identical, differing) == (1, 1)
    assert "- two" in diff and "+ 2" in diff
    # a statement missing from the output differs
    assert compare(expected, "select 1;\n one\n", statements(sql))[:2] == (1, 1)
