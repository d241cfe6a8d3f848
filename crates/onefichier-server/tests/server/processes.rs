//! Several server processes behave as one service: three `serve` processes on one PostgreSQL
//! database and one bucket (Garage), behind nginx (round robin). A client sees one server:
//! upload ids handed out by one process are taken by another and their end.pl reports read on a
//! third, download tokens work on any process, listings are the same everywhere, a process
//! killed (-9) while it receives an upload leaves nothing visible and the others serve on, and a
//! remote-upload job whose process dies is taken over by another. With `--shared-state` (a
//! Redis), one key's budget and the flood locks hold across the processes.

use onefichier_test_support::garage::Garage;
use onefichier_test_support::nginx::Nginx;
use onefichier_test_support::postgres::TestDatabase;
use onefichier_test_support::redis::Redis;
use onefichier_test_support::{TestServer, free_port, pseudo_random};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::BIN;
const PROCESSES: usize = 3;

/// An HTTP source that sends `body` slowly (about four seconds), counting the fetches.
async fn slow_source(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for chunk in body.chunks(body.len().div_ceil(16)) {
                    if stream.write_all(chunk).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            });
        }
    });
    (address, fetches)
}

/// Which process claims job `id` now (the pid part of its claim).
fn claimed_by(database_url: &str, id: i64) -> Option<u32> {
    let out = std::process::Command::new("psql")
        .args([database_url, "-Atc"])
        .arg(format!(
            "SELECT claimed_by FROM remote_jobs WHERE id = {id}"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().split('-').next()?.parse().ok()
}

async fn ok(front: &TestServer, key: &str, path: &str, body: Value) -> Value {
    let answer = front.post(Some(key), path, body).await.unwrap();
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    answer.json
}

/// Three processes on one database and one bucket behind nginx, each started with `extra`
/// besides the shared settings.
struct Cluster {
    servers: Vec<TestServer>,
    front: TestServer,
    key: String,
    database_url: String,
    _nginx: Nginx,
    _garage: Garage,
}

impl Cluster {
    /// `None` when a component is missing and its skip variable is set.
    fn start(extra: &[&str]) -> Option<Self> {
        let database = TestDatabase::create_or_skip().unwrap()?;
        let garage = Garage::start_or_skip().unwrap()?;
        let database_url = database.url();
        let blobs = format!("s3://{}/cluster", garage.bucket("cluster").unwrap());
        let upstreams: Vec<String> = (0..PROCESSES)
            .map(|_| format!("127.0.0.1:{}", free_port().unwrap()))
            .collect();
        let upstream_refs: Vec<&str> = upstreams.iter().map(String::as_str).collect();
        let nginx = Nginx::start_or_skip(&upstream_refs).unwrap()?;
        // Every process prints links on the balancer's address and believes its
        // X-Forwarded-For.
        let front_address = nginx.address().to_owned();
        let mut args = vec![
            "--blobs",
            &blobs,
            "--site-host",
            &front_address,
            "--upload-host",
            &front_address,
            "--download-host",
            &front_address,
            "--trusted-proxy",
            "127.0.0.1/32",
        ];
        args.extend_from_slice(extra);
        let mut servers = Vec::new();
        let mut holder = Some(database);
        for upstream in &upstreams {
            let mut server = TestServer::on_sqlite(BIN).unwrap();
            match holder.take() {
                Some(database) => server.use_postgres(database),
                None => {
                    server.set_env([("ONEFICHIER_SERVER_META".to_owned(), database_url.clone())]);
                }
            }
            server.set_env(garage.aws_vars());
            server.log_requests();
            server.start_at(upstream, &args).unwrap();
            servers.push(server);
        }
        let key = servers[0]
            .account_with_key("cluster@example.com", "premium")
            .unwrap();
        Some(Self {
            servers,
            front: TestServer::front(BIN, &front_address).unwrap(),
            key,
            database_url,
            _nginx: nginx,
            _garage: garage,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_behind_nginx_are_one_server() {
    let body = pseudo_random(3_000_000, 7);
    let (source, fetches) = slow_source(body.clone()).await;
    let Some(redis) = Redis::start_or_skip().unwrap() else {
        return;
    };
    let Some(mut cluster) = Cluster::start(&[
        "--shared-state",
        redis.url(),
        "--limits",
        "off",
        "--remote-allow-host",
        &source,
        "--remote-lease-seconds",
        "3",
    ]) else {
        return;
    };
    let (front, key) = (&cluster.front, cluster.key.clone());

    // Uploads: each takes three requests (get_upload_server, upload.cgi, end.pl), which round
    // robin sends to three different processes.
    let mut sent = Vec::new();
    for n in 0..4_u64 {
        let bytes = pseudo_random(200_000 + n as usize * 100_000, n);
        let name = format!("part-{n}.bin");
        let (id, uploaded) = front
            .upload(Some(&key), &[(name.as_str(), bytes.clone())], &[])
            .await
            .unwrap();
        assert_eq!(uploaded.status, 302, "{}", uploaded.text);
        let report = front.end_report(&id).await.unwrap();
        assert_eq!(report.status, 200, "{}", report.text);
        assert_eq!(
            report.json["links"][0]["filename"],
            name.as_str(),
            "{}",
            report.text
        );
        sent.push((name, bytes));
    }
    // Round robin spread the steps: some process took ids it never handed out, and some
    // reported uploads it never received.
    let (handed_out, received, reported) =
        ("/v1/upload/get_upload_server.cgi", "/upload.cgi", "/end.pl");
    assert!(
        cluster
            .servers
            .iter()
            .any(|s| s.requests_to(received) > 0 && s.requests_to(handed_out) == 0),
        "an upload id handed out by one process was taken by another"
    );
    assert!(
        cluster
            .servers
            .iter()
            .any(|s| s.requests_to(reported) > 0 && s.requests_to(received) == 0),
        "an end.pl report was read from a process that did not receive the upload"
    );

    // Every process lists the same files, and any one serves a token another issued.
    for _ in 0..PROCESSES {
        let listing = ok(front, &key, "file/ls.cgi", json!({})).await;
        assert_eq!(listing["items"].as_array().unwrap().len(), sent.len());
    }
    let listing = ok(front, &key, "file/ls.cgi", json!({})).await;
    for item in listing["items"].as_array().unwrap() {
        let name = item["filename"].as_str().unwrap();
        let bytes = front
            .download(&key, item["url"].as_str().unwrap())
            .await
            .unwrap();
        let expected = &sent.iter().find(|(n, _)| n == name).unwrap().1;
        assert!(&bytes == expected, "{name} through the balancer");
    }

    // A `single` token streams once at a time, whichever process is asked for a second stream.
    let big = pseudo_random(20_000_000, 3);
    let (id, _) = front
        .upload(Some(&key), &[("big.bin", big.clone())], &[])
        .await
        .unwrap();
    let link = front.end_report(&id).await.unwrap().json["links"][0]["download"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = ok(
        front,
        &key,
        "download/get_token.cgi",
        json!({"url": link, "single": 1}),
    )
    .await;
    let direct = token["url"].as_str().unwrap();
    let mut first = front.client().get(direct).send().await.unwrap();
    assert_eq!(first.status(), 200);
    first.chunk().await.unwrap();
    for _ in 0..PROCESSES {
        let second = front.client().get(direct).send().await.unwrap();
        assert_eq!(second.status(), 429, "one stream of a single token");
    }
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        let answer = front.client().get(direct).send().await.unwrap();
        if answer.status() == 200 {
            again = Some(answer.bytes().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        again.is_some_and(|bytes| bytes == big),
        "the place came back"
    );

    // A process killed (-9) in the middle of receiving an upload: the others keep serving,
    // and nothing of the partial upload shows.
    let (_, id) = front.upload_server(Some(&key)).await.unwrap();
    let receiver = cluster.servers[PROCESSES - 1].address().to_owned();
    let mut upload = tokio::net::TcpStream::connect(&receiver).await.unwrap();
    let boundary = "cut-here";
    let request = format!(
        "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: {receiver}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 100000000\r\n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"partial.bin\"\r\n\r\n"
    );
    upload.write_all(request.as_bytes()).await.unwrap();
    upload.write_all(&pseudo_random(4 << 20, 5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.servers[PROCESSES - 1].kill().unwrap();
    drop(upload);
    let files_now = ok(front, &key, "file/ls.cgi", json!({"folder_id": -1})).await;
    assert!(
        files_now["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["filename"] != "partial.bin"),
        "{files_now}"
    );
    for item in listing["items"].as_array().unwrap() {
        front
            .download(&key, item["url"].as_str().unwrap())
            .await
            .unwrap();
    }

    // A remote upload: its process dies in the middle of the fetch; another takes it over once
    // the claim ran out, and the file arrives whole.
    let job = ok(
        front,
        &key,
        "remote/request.cgi",
        json!({"urls": [format!("http://{source}/remote.bin")]}),
    )
    .await;
    let id = job["id"].as_i64().unwrap();
    let first = claimed_by(&cluster.database_url, id).expect("the job is claimed at once");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let victim = cluster
        .servers
        .iter_mut()
        .position(|s| s.pid() == Some(first))
        .expect("a process of ours holds the job");
    cluster.servers[victim].kill().unwrap();
    let mut info = Value::Null;
    for _ in 0..120 {
        info = ok(front, &key, "remote/info.cgi", json!({"id": id})).await;
        if info["execution_date"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(info["result"][0]["status"], "OK", "{info}");
    let second = claimed_by(&cluster.database_url, id).unwrap();
    assert_ne!(second, first, "another process finished the job");
    assert!(
        fetches.load(Ordering::SeqCst) >= 2,
        "the fetch started again"
    );
    let link = info["result"][0]["download_link"].as_str().unwrap();
    let fetched = front.download(&key, link).await.unwrap();
    assert!(fetched == body, "the remote file arrived whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_processes_with_shared_state() {
    let Some(redis) = Redis::start_or_skip().unwrap() else {
        return;
    };
    let Some(cluster) = Cluster::start(&[
        "--limits",
        "1fichier",
        "--lock-after",
        "6",
        "--shared-state",
        redis.url(),
    ]) else {
        return;
    };
    let (front, key) = (&cluster.front, cluster.key.as_str());

    // Nine calls at once through the balancer, three to each process: one key's budget is three
    // a second whichever process answers, not three per process.
    let calls = (0..9).map(|n| {
        front.post(
            Some(key),
            "folder/mkdir.cgi",
            json!({"name": format!("f{n}")}),
        )
    });
    let answers = futures::future::join_all(calls).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.as_ref().unwrap().status).collect();
    let admitted = statuses.iter().filter(|&&s| s == 200).count();
    assert!(
        (3..=4).contains(&admitted),
        "one budget for the key across processes: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 429),
        "{statuses:?}"
    );
    for server in &cluster.servers {
        assert!(
            server.requests_to("/v1/folder/mkdir.cgi") > 0,
            "round robin"
        );
    }

    // The refusals counted on every process add up to one flood lock, which every process
    // then applies.
    for n in 0..4 {
        let _ = front
            .post(
                Some(key),
                "folder/mkdir.cgi",
                json!({"name": format!("g{n}")}),
            )
            .await
            .unwrap();
    }
    for n in 0..PROCESSES {
        let locked = front
            .post(
                Some(key),
                "folder/mkdir.cgi",
                json!({"name": format!("h{n}")}),
            )
            .await
            .unwrap();
        assert_eq!(locked.status, 429, "{}", locked.text);
        assert!(locked.text.contains("Flood detected"), "{}", locked.text);
        assert!(locked.retry_after.is_some_and(|s| s > 0));
    }

    // Redis goes away: each process falls back on its own budgets and says so, and the service
    // goes on answering (the lock lived in Redis).
    drop(redis);
    let answer = front
        .post(
            Some(key),
            "folder/mkdir.cgi",
            json!({"name": "after redis"}),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        cluster
            .servers
            .iter()
            .any(|s| s.log().contains("the shared state does not answer")),
        "the fallback is logged"
    );
}
