//! columns: where a column is in one of the store's constant select lists, found at compile
//! time, so that a reader of single rows reads each column by its place. Looking a name up on
//! every row (rusqlite's `Row::get("name")` compares it with each column's name) cost ~5 % of a
//! detection rebuild, which reads findings and events back one row at a time.

/// The place (from 0) of the column named `name` in `columns`, a select list of plain names or
/// `table.column AS name` items separated by commas. A statement that selects `columns` first
/// has the column there.
///
/// Errors (a panic, so a compile error in a constant): `name` is not in the list, or the list
/// holds a parenthesis or a quote (an expression, whose commas would shift every later place).
pub(super) const fn column_at(columns: &str, name: &str) -> usize {
    match place_of(columns, name) {
        Some(place) => place,
        None => panic!("not a column of the select list"),
    }
}

/// [`column_at`], `None` for a name not in the list.
const fn place_of(columns: &str, name: &str) -> Option<usize> {
    let list = columns.as_bytes();
    let name = name.as_bytes();
    let (mut place, mut start, mut at) = (0, 0, 0);
    loop {
        if at < list.len() && matches!(list[at], b'(' | b'\'' | b'"' | b'`' | b'[') {
            panic!("an expression in a select list read by place");
        }
        if at == list.len() || list[at] == b',' {
            // The item list[start..at]: its name is its last word.
            let mut end = at;
            while end > start && list[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            let mut from = end;
            while from > start && !list[from - 1].is_ascii_whitespace() {
                from -= 1;
            }
            if end - from == name.len() {
                let mut same = 0;
                while same < name.len() && list[from + same] == name[same] {
                    same += 1;
                }
                if same == name.len() {
                    return Some(place);
                }
            }
            if at == list.len() {
                return None;
            }
            place += 1;
            start = at + 1;
        }
        at += 1;
    }
}

/// Whether `statement` selects `columns` first: each of its first columns has the name
/// [`column_at`] places there (the store's tests check its single-row statements with it).
#[cfg(test)]
pub(super) fn leads_with(statement: &rusqlite::Statement<'_>, columns: &str) -> bool {
    let items = columns.split(',').count();
    statement.column_count() >= items
        && (0..items).all(|place| {
            statement
                .column_name(place)
                .is_ok_and(|name| place_of(columns, name) == Some(place))
        })
}

#[cfg(test)]
mod tests {
    use super::{column_at, place_of};

    #[test]
    fn a_column_is_found_at_its_place_by_its_name_or_alias() {
        let list = "e.seq AS seq, e.source AS source,\n  count, b.body AS body";
        assert_eq!(column_at(list, "seq"), 0);
        assert_eq!(column_at(list, "source"), 1);
        assert_eq!(column_at(list, "count"), 2);
        assert_eq!(column_at(list, "body"), 3);
        assert_eq!(column_at("id", "id"), 0);
        assert_eq!(place_of(list, "nothing"), None);
        // A prefix or a table-qualified name is not the name.
        assert!(std::panic::catch_unwind(|| column_at(list, "se")).is_err());
        assert!(std::panic::catch_unwind(|| column_at(list, "e.seq")).is_err());
        assert!(std::panic::catch_unwind(|| column_at(list, "bodyx")).is_err());
        // An expression's comma would shift the places after it.
        let expression = "coalesce(a, b) AS c, d";
        assert!(std::panic::catch_unwind(|| column_at(expression, "d")).is_err());
    }
}
