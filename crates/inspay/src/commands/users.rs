//! `inspay users`: staff accounts, their roles and assignments, and the permission review
//! report (clauses 5.3.2.1, 5.3.2.2, 5.6.1-d and 5.2.4.2-a), and closing a staff account made
//! by mistake. Every change is audited with the operator as the actor.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use inspay_identity::authorization::{Role, conflict_reason, conflicting_roles};
use inspay_identity::login_name::LoginName;
use inspay_identity::password_policy::{LoginPasswordPolicy, PersonalData};
use inspay_identity::secret_hash::{ITERATIONS_DEFAULT, SecretHash, SecretKind};
use inspay_kms::Keyring;
use inspay_store::Store;
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::authorization::{DORMANT_DAYS, ReviewRow};
use inspay_store::containment::Reason;
use inspay_store::keys::Actor;
use std::path::Path;
use zeroize::Zeroizing;

/// Staff account commands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a staff account with roles and a generated initial password, shown once, that
    /// must be changed at the first sign-in.
    #[command(
        after_help = "Examples:\n  inspay users create --login finance.wang --role finance-officer\n  inspay users create --login agent.li --role agent --role security-officer"
    )]
    Create {
        /// The staff user name (3 to 32 of a-z, 0-9, '.', '_', '-', starting with a letter).
        #[arg(long)]
        login: String,
        /// A staff role (repeat for several); the help lists every staff role the code knows.
        #[arg(
            long = "role",
            required = true,
            value_parser = parse_role,
            help = role_help("A staff role (repeat for several)")
        )]
        roles: Vec<Role>,
    },
    /// List staff accounts with their roles, status and last sign-in.
    #[command(after_help = "Examples:\n  inspay users list\n  inspay users list --json")]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Grant a role to a staff account (refused if it breaks separation of duties).
    #[command(
        after_help = "Example:\n  inspay users grant --login finance.wang --role finance-officer"
    )]
    Grant(LoginRole),
    /// Revoke a role from a staff account (an agent's customers and an adjuster's claims go
    /// with the role).
    #[command(after_help = "Example:\n  inspay users revoke --login agent.li --role agent")]
    Revoke(LoginRole),
    /// Make an agent serve a customer, named by the customer's account id.
    #[command(
        after_help = "Example:\n  inspay users assign-customer --agent agent.li --customer-account 01890f2e-7c1a-7b3e-9f00-1c2d3e4f5a6b"
    )]
    AssignCustomer {
        /// The agent's user name.
        #[arg(long)]
        agent: String,
        /// The customer's account id.
        #[arg(long)]
        customer_account: String,
    },
    /// Assign a claim to a claims adjuster.
    #[command(
        after_help = "Example:\n  inspay users assign-claim --adjuster adjuster.zhou --claim 0193a3c7-1a2b-7c3d-8e4f-5a6b7c8d9e0f"
    )]
    AssignClaim {
        /// The adjuster's user name.
        #[arg(long)]
        adjuster: String,
        /// The claim id.
        #[arg(long)]
        claim: String,
    },
    /// Register a staff member's second factor: an X.509 certificate with an SM2 key, or a
    /// bare SM2 public key (SPKI PEM) for deployments without a PKI. Staff sign in with their
    /// password and a signature by this key (clause 5.2.1.1).
    #[command(
        after_help = "Examples:\n  inspay users add-key --login agent.li --certificate agent-li.pem\n  inspay users add-key --login agent.li --public-key agent-li.pub.pem --label \"token 0042\""
    )]
    AddKey {
        /// The staff user name.
        #[arg(long)]
        login: String,
        /// PEM file of the staff member's X.509 certificate (SM2 key).
        #[arg(
            long,
            conflicts_with = "public_key",
            required_unless_present = "public_key"
        )]
        certificate: Option<std::path::PathBuf>,
        /// PEM file of a bare SM2 public key (SubjectPublicKeyInfo).
        #[arg(long)]
        public_key: Option<std::path::PathBuf>,
        /// A label for the key (a public key's label; certificates are labelled by subject).
        #[arg(long, default_value = "staff key")]
        label: String,
    },
    /// Confirm a staff member back after 180 days without sign-in, once you have checked who
    /// they are in person or by a call-back (clause 5.3.3.3-c). Their next sign-in is normal;
    /// any session they have ends.
    #[command(after_help = "Example:\n  inspay users reactivate --login agent.li")]
    Reactivate {
        /// The staff user name.
        #[arg(long)]
        login: String,
    },
    /// Close a staff account created by mistake or no longer needed: its sessions end, its
    /// sign-in is refused from then on and its SM2 keys are revoked; the account, its roles
    /// and its history stay for the auditors. The last active security officer or
    /// administrator cannot be closed (separation of duties): grant the role to someone else
    /// first.
    #[command(
        after_help = "Example:\n  inspay users close --login agent.li --reason \"created by mistake, ticket OPS-311\""
    )]
    Close {
        /// The staff user name.
        #[arg(long)]
        login: String,
        /// Why: kept in the audit log (1 to 200 characters, no long numbers).
        #[arg(long)]
        reason: String,
    },
    /// Print the permission review report: every staff account with its roles, permissions,
    /// data scope, last sign-in and findings (conflicts and dormant accounts first).
    #[command(
        after_help = "Examples:\n  inspay users review\n  inspay users review --json > review.json"
    )]
    Review {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// A staff account and a role.
#[derive(Debug, Args)]
pub struct LoginRole {
    /// The staff user name.
    #[arg(long)]
    login: String,
    /// The role; the help lists every staff role the code knows.
    #[arg(long, value_parser = parse_role, help = role_help("The role"))]
    role: Role,
}

/// The names of the staff roles, in the order of [`Role::ALL`]: the help and the errors list
/// them from the enum, so a new role cannot be missing from either.
pub fn staff_role_names() -> Vec<&'static str> {
    Role::ALL
        .iter()
        .filter(|role| role.population() == inspay_identity::authorization::Population::Staff)
        .map(|role| role.name())
        .collect()
}

/// `lead`, then every staff role.
fn role_help(lead: &str) -> String {
    format!("{lead}: {}", staff_role_names().join(", "))
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|role| role.name()).collect();
        format!("unknown role '{name}'; use one of: {}", names.join(", "))
    })
}

fn staff_name(raw: &str) -> anyhow::Result<LoginName> {
    LoginName::staff(raw).map_err(|error| anyhow::anyhow!("{error}"))
}

/// Runs a users command.
pub async fn run(config: Option<&Path>, command: UsersCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    let now = inspay_store::now_ms();
    match command {
        UsersCommand::List { json } => return list(&store, now, json).await,
        UsersCommand::Review { json } => return review(&store, now, json).await,
        _ => {}
    }
    let master = inspay_server::master_key::load(&settings)?;
    let operator = super::operator();
    let id = super::command_id();
    let who = Actor {
        actor: &operator,
        request_id: &id,
    };
    // Checks the master key against the stored check value (or initialises a new install).
    store
        .kms_initialise(&master, &settings.rotation_policy(), who, now)
        .await?;
    let keyring = store.keyring_load(&master).await?;
    let find = |login: String| {
        let (store, keyring) = (&store, &keyring);
        async move {
            let name = staff_name(&login)?;
            store
                .staff_account_id(keyring, &name)
                .await?
                .with_context(|| format!("no staff account is named {login}"))
        }
    };
    match command {
        UsersCommand::Create { login, roles } => {
            create(&store, &keyring, &staff_name(&login)?, &roles, who, now).await?;
        }
        UsersCommand::Grant(LoginRole { login, role }) => {
            let account = find(login.clone()).await?;
            store
                .role_grant(&account, role, who, now)
                .await
                .with_context(|| format!("cannot grant {} to {login}", role.name()))?;
            println!("{login} now holds {}", role.name());
        }
        UsersCommand::Revoke(LoginRole { login, role }) => {
            let account = find(login.clone()).await?;
            if store.role_revoke(&account, role, who, now).await? {
                println!("{} revoked from {login}", role.name());
            } else {
                println!("{login} did not hold {}; nothing changed", role.name());
            }
        }
        UsersCommand::AssignCustomer {
            agent,
            customer_account,
        } => {
            let account = find(agent.clone()).await?;
            store
                .agent_assign_customer(&account, &customer_account, who, now)
                .await
                .with_context(|| format!("cannot assign the customer to {agent}"))?;
            println!("{agent} now serves customer account {customer_account}");
        }
        UsersCommand::AssignClaim { adjuster, claim } => {
            if !store.claim_exists(&claim).await? {
                anyhow::bail!(
                    "no claim with id {claim}; the claims queue (GET /v1/claim-queue/filed) lists the claims waiting for an adjuster"
                );
            }
            let account = find(adjuster.clone()).await?;
            store
                .claim_assign(&account, &claim, who, now)
                .await
                .with_context(|| format!("cannot assign the claim to {adjuster}"))?;
            println!("claim {claim} is now assigned to {adjuster}");
        }
        UsersCommand::AddKey {
            login,
            certificate,
            public_key,
            label,
        } => {
            let account = find(login.clone()).await?;
            let key_id = match (certificate, public_key) {
                (Some(path), _) => {
                    let pem = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    store
                        .certificate_register(&account, &pem, who, now)
                        .await
                        .with_context(|| format!("cannot register the certificate for {login}"))?
                }
                (None, Some(path)) => {
                    let pem = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let key = inspay_crypto::sm2::Sm2PublicKey::from_spki_pem(&pem).map_err(|_| {
                        anyhow::anyhow!(
                            "{} is not an SM2 public key in PEM (SubjectPublicKeyInfo); export it with `openssl pkey -pubout`",
                            path.display()
                        )
                    })?;
                    store
                        .staff_public_key_register(&account, &key, &label, who, now)
                        .await
                        .with_context(|| format!("cannot register the public key for {login}"))?
                }
                (None, None) => bail!("give --certificate or --public-key"),
            };
            println!(
                "registered key {key_id} for {login}; they sign in with their password and this key"
            );
        }
        UsersCommand::Reactivate { login } => {
            let account = find(login.clone()).await?;
            store
                .staff_reactivate(&account, who, now)
                .await
                .with_context(|| format!("cannot reactivate {login}"))?;
            println!("{login} is confirmed; their next sign-in is a normal one");
        }
        UsersCommand::Close { login, reason } => {
            let reason =
                Reason::parse(&reason).map_err(|why| anyhow::anyhow!("--reason: {why}"))?;
            let account = find(login.clone()).await?;
            let closed = store
                .staff_account_close(&account, &reason, who, now)
                .await
                .with_context(|| format!("cannot close {login}"))?;
            println!(
                "closed staff account {login} (id {account}): {} session(s) ended, {} key(s) revoked; \
                 its sign-in is refused from now on, and the account, its roles and its history are kept",
                closed.sessions_ended, closed.keys_revoked
            );
        }
        UsersCommand::List { .. } | UsersCommand::Review { .. } => unreachable!("handled above"),
    }
    Ok(())
}

async fn create(
    store: &Store,
    keyring: &Keyring,
    name: &LoginName,
    roles: &[Role],
    who: Actor<'_>,
    now: i64,
) -> anyhow::Result<()> {
    let display = name.display();
    if roles.contains(&Role::Customer) {
        bail!(
            "`users create` makes staff accounts; the customer role belongs to customer accounts, which customers open by registering"
        );
    }
    if let Some((first, second)) = conflicting_roles(roles).first().copied() {
        bail!(
            "{} and {} may not be held by one account: {}",
            first.name(),
            second.name(),
            conflict_reason(first, second).unwrap_or("separation of duties")
        );
    }
    if store.staff_account_id(keyring, name).await?.is_some() {
        bail!("a staff account named {display} already exists");
    }
    let password = initial_password(&display)?;
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        password.as_bytes(),
        ITERATIONS_DEFAULT,
    )
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    let account = store
        .account_create(
            keyring,
            &NewAccount {
                population: Population::Staff,
                login_name: name,
                person_id: None,
                password: &hash,
                must_change_password: true,
            },
            who,
            now,
        )
        .await?;
    // The roles were checked above; should a grant still fail (the database), the account
    // exists, so its password is shown anyway and the operator is told how to finish.
    let mut granted = vec![];
    let mut failure = None;
    for role in roles {
        match store.role_grant(&account, *role, who, now).await {
            Ok(()) => granted.push(role.name()),
            Err(error) => {
                failure = Some((*role, error));
                break;
            }
        }
    }
    println!(
        "created staff account {display} (id {account}) with role(s): {}",
        if granted.is_empty() {
            "none".to_string()
        } else {
            granted.join(", ")
        }
    );
    println!("\ninitial password for {display}, shown only this once:\n");
    println!("    {}\n", password.as_str());
    println!(
        "WARNING: hand this password to {display} in person or through another secure channel; never by e-mail, chat or ticket, and keep no copy.\n\
         It must be changed at the first sign-in, before anything else is allowed (clause 5.2.4.2-a)."
    );
    if let Some((role, error)) = failure {
        return Err(anyhow::Error::new(error).context(format!(
            "the account was created but {} was not granted; run `inspay users grant --login {display} --role {}`",
            role.name(),
            role.name()
        )));
    }
    Ok(())
}

/// Characters of generated passwords, by class; look-alikes (I, O, l, 0, 1) are left out so
/// the password can be read aloud or copied by hand.
const CLASSES: [&[u8]; 4] = [
    b"ABCDEFGHJKLMNPQRSTUVWXYZ",
    b"abcdefghijkmnopqrstuvwxyz",
    b"23456789",
    b"-_.!@#%+=",
];
/// Length of a generated initial password (about 120 bits from the CSPRNG).
const INITIAL_CHARS: usize = 20;
/// Generated passwords tried before giving up (the policy refuses almost none).
const INITIAL_ATTEMPTS_MAX: usize = 16;

/// A random index below `bound`, without modulo bias.
fn random_below(bound: usize) -> anyhow::Result<usize> {
    let bound = u32::try_from(bound).context("bound too large")?;
    let zone = u32::MAX - u32::MAX % bound;
    loop {
        let value = u32::from_le_bytes(inspay_crypto::random::bytes::<4>()?);
        if value < zone {
            return Ok(usize::try_from(value % bound)?);
        }
    }
}

/// An initial password from the CSPRNG with every character class, checked against the
/// password policy (and the user name) like any other password.
fn initial_password(username: &str) -> anyhow::Result<Zeroizing<String>> {
    let all: Vec<u8> = CLASSES.concat();
    for _ in 0..INITIAL_ATTEMPTS_MAX {
        let mut bytes = Zeroizing::new(Vec::with_capacity(INITIAL_CHARS));
        for class in CLASSES {
            bytes.push(class[random_below(class.len())?]);
        }
        while bytes.len() < INITIAL_CHARS {
            bytes.push(all[random_below(all.len())?]);
        }
        for index in (1..bytes.len()).rev() {
            bytes.swap(index, random_below(index + 1)?);
        }
        let password = Zeroizing::new(String::from_utf8(bytes.to_vec())?);
        let personal = PersonalData {
            username: Some(username),
            ..PersonalData::default()
        };
        if LoginPasswordPolicy::default()
            .check(&password, &personal)
            .is_ok()
        {
            return Ok(password);
        }
    }
    bail!("could not generate an initial password that passes the password policy")
}

async fn list(store: &Store, now: i64, json: bool) -> anyhow::Result<()> {
    let mut rows = store.permission_review(now).await?;
    rows.sort_by(|a, b| a.login_name.cmp(&b.login_name));
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<24} {:<7} {:<40} LAST SIGN-IN",
        "LOGIN", "STATUS", "ROLES"
    );
    for row in &rows {
        println!(
            "{:<24} {:<7} {:<40} {}",
            row.login_name,
            row.status,
            role_list(row),
            last_sign_in(row)
        );
    }
    println!("\n{} staff account(s)", rows.len());
    Ok(())
}

fn role_list(row: &ReviewRow) -> String {
    if row.roles.is_empty() {
        return "-".into();
    }
    let names: Vec<&str> = row.roles.iter().map(|role| role.name()).collect();
    names.join(",")
}

fn last_sign_in(row: &ReviewRow) -> String {
    row.last_sign_in_ms
        .map(super::utc_date)
        .unwrap_or_else(|| "never".into())
}

async fn review(store: &Store, now: i64, json: bool) -> anyhow::Result<()> {
    let rows = store.permission_review(now).await?;
    let conflicts = rows.iter().filter(|row| row.has_conflicts()).count();
    let dormant = rows.iter().filter(|row| row.dormant).count();
    let initial = rows.iter().filter(|row| row.initial_password).count();
    if json {
        let report = serde_json::json!({
            "generated_at_ms": now,
            "dormant_days": DORMANT_DAYS,
            "accounts": rows,
            "summary": {
                "accounts": rows.len(),
                "with_conflicts": conflicts,
                "dormant": dormant,
                "with_initial_password": initial,
            },
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "Permission review at {} UTC (clauses 5.3.2.2, 5.6.1-d); conflicts and dormant accounts first\n",
        super::utc_date(now)
    );
    println!(
        "{:<25} {:<20} {:<7} {:<34} {:<24} {:<17} {:>5}",
        "FLAGS", "LOGIN", "STATUS", "ROLES", "SCOPE", "LAST SIGN-IN", "DAYS"
    );
    for row in &rows {
        print_review_row(row);
    }
    println!(
        "\nsummary: {} staff account(s); {conflicts} with conflicting roles, {dormant} dormant (never signed in, or not for {DORMANT_DAYS} days or more), {initial} still with an initial password",
        rows.len()
    );
    Ok(())
}

fn print_review_row(row: &ReviewRow) {
    let mut flags = vec![];
    if row.has_conflicts() {
        flags.push("CONFLICT");
    }
    if row.dormant {
        flags.push("DORMANT");
    }
    if row.initial_password {
        flags.push("INITIAL-PASSWORD");
    }
    let scopes: Vec<&str> = row.data_scopes.iter().map(|scope| scope.name()).collect();
    println!(
        "{:<25} {:<20} {:<7} {:<34} {:<24} {:<17} {:>5}",
        if flags.is_empty() {
            "-".to_string()
        } else {
            flags.join(",")
        },
        row.login_name,
        row.status,
        role_list(row),
        if scopes.is_empty() {
            "-".to_string()
        } else {
            scopes.join(",")
        },
        last_sign_in(row),
        row.days_since_sign_in
    );
    for (first, second) in &row.conflicts {
        println!(
            "    conflict: {} + {}: {}",
            first.name(),
            second.name(),
            conflict_reason(*first, *second).unwrap_or("separation of duties")
        );
    }
    for role in &row.wrong_population {
        println!(
            "    conflict: {} is not a role for this account's population",
            role.name()
        );
    }
    let permissions: Vec<&str> = row.permissions.iter().map(|p| p.name()).collect();
    let permissions = if !permissions.is_empty() {
        permissions.join(", ")
    } else if row.has_conflicts() {
        "none (conflicting roles hold nothing until resolved)".into()
    } else if row.status != "active" {
        format!("none (account {})", row.status)
    } else {
        "none".into()
    };
    println!("    permissions: {permissions}");
    if row.assigned_customers > 0 || row.assigned_claims > 0 {
        println!(
            "    assigned: {} customer(s), {} claim(s)",
            row.assigned_customers, row.assigned_claims
        );
    }
}
