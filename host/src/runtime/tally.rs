//! Counts of calls in progress by module and by company, for the shares of sandbox slots
//! (`slots`) and of processor time (`cpu_share`). A key whose count reaches zero is
//! forgotten, so the maps stay as small as what is in progress.

use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Default)]
pub(crate) struct Tally {
    by_module: HashMap<String, u32>,
    by_company: HashMap<i64, u32>,
}

impl Tally {
    /// Calls in progress of `module` and of `company_id`.
    pub fn get(&self, module: &str, company_id: i64) -> (u32, u32) {
        (self.by_module.get(module).copied().unwrap_or(0), self.by_company.get(&company_id).copied().unwrap_or(0))
    }

    /// Calls in progress of `company_id`, whatever their module.
    pub fn company(&self, company_id: i64) -> u32 {
        self.by_company.get(&company_id).copied().unwrap_or(0)
    }

    pub fn add(&mut self, module: &str, company_id: i64) {
        *self.by_module.entry(module.to_string()).or_default() += 1;
        *self.by_company.entry(company_id).or_default() += 1;
    }

    pub fn remove(&mut self, module: &str, company_id: i64) {
        take_one(&mut self.by_module, module);
        take_one(&mut self.by_company, &company_id);
    }
}

fn take_one<K, Q>(counts: &mut HashMap<K, u32>, key: &Q)
where
    K: std::borrow::Borrow<Q> + Hash + Eq,
    Q: Hash + Eq + ?Sized,
{
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_module_and_company_and_forgets_zeros() {
        let mut tally = Tally::default();
        tally.add("m", 1);
        tally.add("m", 2);
        assert_eq!((tally.get("m", 1), tally.get("m", 2)), ((2, 1), (2, 1)));
        tally.remove("m", 1);
        tally.remove("m", 2);
        assert_eq!(tally.get("m", 1), (0, 0));
        assert!(tally.by_module.is_empty() && tally.by_company.is_empty());
    }
}
