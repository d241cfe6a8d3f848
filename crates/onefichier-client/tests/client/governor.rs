//! The governor's proof: against the server with `--limits 1fichier`, a burst of mixed calls
//! from several tasks in two processes sharing one key completes with zero 429 answers.

use onefichier_client::Client;
use onefichier_test_support::{TestServer, server_binary};
use std::process::Command;

const CHILD: &str = "ONEFICHIER_GOVERNOR_TEST_CHILD";

#[test]
fn two_processes_with_one_key_never_get_a_429() {
    if std::env::var_os(CHILD).is_some() {
        tokio::runtime::Runtime::new().unwrap().block_on(burst());
        return;
    }
    let mut server = TestServer::new(server_binary()).unwrap();
    let key = server
        .account_with_key("user@example.com", "premium")
        .unwrap();
    server.start(&["--limits", "1fichier"]).unwrap();
    let state = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // Both children must run at the same time: start them together.
    let mut running: Vec<_> = (0..2)
        .map(|id| {
            Command::new(&exe)
                .args([
                    "governor::two_processes_with_one_key_never_get_a_429",
                    "--exact",
                    "--nocapture",
                ])
                .env(CHILD, id.to_string())
                .env("ONEFICHIER_API_URL", server.api_url())
                .env("ONEFICHIER_API_KEY", &key)
                .env("ONEFICHIER_STATE_DIR", state.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in running.drain(..) {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("refused=0"), "{stdout}");
    }
}

async fn burst() {
    let id: u32 = std::env::var(CHILD).unwrap().parse().unwrap();
    // Live budgets (the default), shared through ONEFICHIER_STATE_DIR.
    let client = Client::builder()
        .from_env()
        .state_dir(std::env::var("ONEFICHIER_STATE_DIR").unwrap())
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for task in 0..3 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let info = client.user_info().await?;
            assert_eq!(info.email, "user@example.com");
            let folder = client
                .folder_mkdir(&format!("p{id}-t{task}"), 0)
                .await?
                .folder_id;
            client.list_folder(folder).await?;
            client.upload_server().await?;
            client.remote_ls().await?;
            client.ftp_users().await?;
            client.vouchers().await?;
            client.user_info().await?;
            client.upload_server().await?;
            Ok::<_, onefichier_client::Error>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let (calls, refused) = client.call_stats();
    #[allow(clippy::print_stdout)]
    {
        println!("calls={calls} refused={refused}");
    }
}
