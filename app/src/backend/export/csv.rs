//! CSV for the directory export: RFC 4180 quoting, and cells that a spreadsheet would run as a
//! formula (`=`, `+`, `-`, `@`, tab, carriage return first) are prefixed with `'`.

/// The export's columns, in order.
pub const HEADER: [&str; 10] = [
    "id",
    "name",
    "email",
    "username",
    "title",
    "department",
    "division",
    "state",
    "presence",
    "manager_id",
];

/// Appends one CSV record (with CRLF, as RFC 4180 asks) to `out`.
pub fn write_record<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_cell(out, cell);
    }
    out.push_str("\r\n");
}

fn write_cell(out: &mut String, cell: &str) {
    let guarded = matches!(
        cell.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    );
    let needs_quotes = guarded || cell.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if needs_quotes {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&str]) -> String {
        let mut s = String::new();
        write_record(&mut s, cells.iter().copied());
        s
    }

    #[test]
    fn plain_cells_are_bare() {
        assert_eq!(record(&["a", "b c", "Zoë"]), "a,b c,Zoë\r\n");
    }

    #[test]
    fn quotes_commas_and_newlines_are_quoted() {
        assert_eq!(
            record(&["say \"hi\"", "a,b", "two\nlines"]),
            "\"say \"\"hi\"\"\",\"a,b\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(
            record(&["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "a=b"]),
            "\"'=1+1\",\"'+SUM(A1)\",\"'-2\",\"'@cmd\",\"'\tx\",a=b\r\n"
        );
        assert_eq!(
            record(&["=HYPERLINK(\"http://x\")"]),
            "\"'=HYPERLINK(\"\"http://x\"\")\"\r\n"
        );
    }

    #[test]
    fn empty_cells_stay_empty() {
        assert_eq!(record(&["", "x", ""]), ",x,\r\n");
    }
}
