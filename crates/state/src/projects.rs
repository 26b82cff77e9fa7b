//! What the store remembers of each Optimizely project: its product, read from the API by
//! every run. The product decides the rate limit; a process that knows it from the start
//! paces its first requests by the project's own quota rather than by the stricter one it
//! must assume until the project has been read.

use rusqlite::{OptionalExtension, params};

use crate::clock;
use crate::error::Result;
use crate::store::Store;

impl Store {
    /// The product last seen for `project_id` (the name the client gave it), if any.
    ///
    /// # Errors
    /// [`Error::Sqlite`](crate::Error::Sqlite) when the database cannot be read.
    pub fn remembered_product(&self, project_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT product FROM projects WHERE project_id = ?1")?
            .query_row(params![project_id], |row| row.get(0))
            .optional()?)
    }

    /// Remembers that `project_id` belongs to `product`.
    ///
    /// # Errors
    /// [`Error::Sqlite`](crate::Error::Sqlite) when the database cannot be written.
    pub fn remember_product(&self, project_id: i64, product: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO projects (project_id, product, seen_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (project_id) DO UPDATE SET product = ?2, seen_at = ?3",
            )?
            .execute(params![project_id, product, clock::to_millis(clock::now())])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn a_project_product_is_remembered_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.remembered_product(7).unwrap(), None);
        store.remember_product(7, "web").unwrap();
        store
            .remember_product(8, "feature_experimentation")
            .unwrap();
        assert_eq!(store.remembered_product(7).unwrap().as_deref(), Some("web"));
        store.remember_product(7, "classic").unwrap();
        assert_eq!(
            store.remembered_product(7).unwrap().as_deref(),
            Some("classic")
        );
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(
            again.remembered_product(8).unwrap().as_deref(),
            Some("feature_experimentation")
        );
    }
}
