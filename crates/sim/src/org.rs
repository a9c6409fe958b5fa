//! The simulated organisation: accounts and the roles (permission sets) assigned in each.

use serde::Deserialize;

/// One AWS account.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Account {
    /// 12-digit account id.
    pub id: String,
    /// Account name.
    pub name: String,
    /// Root email shown by the portal.
    #[serde(default)]
    pub email: Option<String>,
    /// Role (permission set) names the user may assume.
    pub roles: Vec<String>,
    /// IAM roles that STS AssumeRole can assume, with their trust.
    #[serde(default)]
    pub iam_roles: Vec<IamRole>,
}

/// An IAM role in an account (for STS AssumeRole): who may assume it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct IamRole {
    /// The role's name (its ARN is `arn:aws:iam::ACCOUNT:role/NAME`).
    pub name: String,
    /// Principals its trust policy allows, as `ACCOUNT/ROLE`: ROLE is a permission set (the
    /// Identity Center role of that name) or another IAM role.
    pub trusted: Vec<String>,
    /// The `sts:ExternalId` its trust policy requires, if any.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The accounts the simulated user can see.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Org {
    /// Accounts in listing order.
    pub accounts: Vec<Account>,
}

impl Org {
    /// The default org: dev, staging and prod.
    pub fn default_org() -> Org {
        let account = |id: &str, name: &str, roles: &[&str], iam_roles: Vec<IamRole>| Account {
            id: id.into(),
            name: name.into(),
            email: Some(format!("aws+{name}@example.com")),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            iam_roles,
        };
        let iam = |name: &str, trusted: &[&str], external_id: Option<&str>| IamRole {
            name: name.into(),
            trusted: trusted.iter().map(|t| t.to_string()).collect(),
            external_id: external_id.map(str::to_string),
        };
        Org {
            accounts: vec![
                account(
                    "111111111111",
                    "dev",
                    &["AdministratorAccess", "ReadOnlyAccess"],
                    Vec::new(),
                ),
                // Auditor: two hops from dev (dev's admin → prod's Deployer → Auditor).
                account(
                    "222222222222",
                    "staging",
                    &["ReadOnlyAccess"],
                    vec![
                        iam("Auditor", &["333333333333/Deployer"], None),
                        iam(
                            "Partner",
                            &["111111111111/AdministratorAccess"],
                            Some("partner-ext-1"),
                        ),
                    ],
                ),
                account(
                    "333333333333",
                    "prod",
                    &["PowerUserAccess", "ReadOnlyAccess"],
                    vec![iam("Deployer", &["111111111111/AdministratorAccess"], None)],
                ),
            ],
        }
    }

    /// `n` generated accounts `account-0001`…, each with AdministratorAccess and ReadOnlyAccess.
    pub fn generated(n: usize) -> Org {
        Org {
            accounts: (1..=n)
                .map(|i| Account {
                    id: format!("{:012}", 100_000_000_000u64 + i as u64),
                    name: format!("account-{i:04}"),
                    email: Some(format!("aws+account-{i:04}@example.com")),
                    roles: vec!["AdministratorAccess".into(), "ReadOnlyAccess".into()],
                    iam_roles: Vec::new(),
                })
                .collect(),
        }
    }

    /// Reads an org from TOML (`[[accounts]]` tables with `id`, `name`, `email`, `roles`).
    pub fn from_toml(text: &str) -> Result<Org, String> {
        let org: Org = toml::from_str(text).map_err(|e| e.to_string())?;
        for a in &org.accounts {
            if a.id.len() != 12 || !a.id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "account `{}`: id `{}` is not 12 digits",
                    a.name, a.id
                ));
            }
        }
        Ok(org)
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_accounts_have_twelve_digit_ids_and_names() {
        let org = Org::generated(1000);
        assert_eq!(org.accounts.len(), 1000);
        assert_eq!(org.accounts[0].name, "account-0001");
        assert_eq!(org.accounts[999].name, "account-1000");
        assert!(org.accounts.iter().all(|a| a.id.len() == 12));
    }

    #[test]
    fn reads_an_org_file() {
        let org =
            Org::from_toml("[[accounts]]\nid = \"123456789012\"\nname = \"x\"\nroles = [\"R\"]\n")
                .unwrap();
        assert_eq!(org.account("123456789012").unwrap().roles, ["R"]);
        assert!(Org::from_toml("[[accounts]]\nid = \"1\"\nname = \"x\"\nroles = []\n").is_err());
    }
}
