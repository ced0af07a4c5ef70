//! The keyspace and tables, from `storage/schema/olymp.cql`: split into statements here and
//! applied on connect. Schema statements are the only unprepared ones the backend sends.

/// The schema file, compiled in so that a node needs nothing beside its binary.
pub(super) const SCHEMA_CQL: &str = include_str!("../../schema/olymp.cql");

/// The statements of a CQL file whose comments are whole `--` lines and whose statements
/// end with `;`.
pub(super) fn statements(cql: &str) -> Vec<String> {
    let code: String = cql
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .map(|line| format!("{line}\n"))
        .collect();
    code.split(';')
        .map(|statement| statement.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|statement| !statement.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_file_creates_the_keyspace_then_every_table() {
        let statements = statements(SCHEMA_CQL);
        assert_eq!(statements.len(), 6);
        assert!(statements[0].starts_with("CREATE KEYSPACE IF NOT EXISTS olymp"));
        assert!(statements[0].contains("NetworkTopologyStrategy"));
        assert!(statements[0].contains("tablets = {'enabled': false}"));
        for table in [
            "events",
            "leases",
            "documents",
            "document_dirs",
            "document_groups",
        ] {
            let create = format!("CREATE TABLE IF NOT EXISTS olymp.{table} (");
            assert!(
                statements.iter().any(|s| s.starts_with(&create)),
                "{table} is created"
            );
        }
    }
}
