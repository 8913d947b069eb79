// Before `npm test`: makes sure the real tools the tests talk to are installed — daemontools
// (svstat, svc, supervise, multilog, tai64nlocal), ucspi-tcp (tcpserver, tcprules,
// tcprulescheck), the cdb tools (freecdb, tinycdb), openssl, swaks with its TLS modules, and python3 and Dovecot's imap
// (lspawn's mailboxes are read back with them), and fetchmail and curl (the POP3 clients). As root it installs what is
// missing with apt-get; otherwise it names the packages to install and fails.

import { execFileSync } from "node:child_process";

const needed = {
  daemontools: ["svstat", "svc", "supervise", "multilog", "tai64nlocal"],
  "ucspi-tcp": ["tcpserver", "tcprules", "tcprulescheck"],
  freecdb: ["cdbmake", "cdbget", "cdbdump"],
  tinycdb: ["cdb"],
  openssl: ["openssl"],
  swaks: ["swaks"],
  // swaks speaks TLS only with these two Perl modules.
  "libnet-ssleay-perl": ["perl:Net::SSLeay"],
  "libio-socket-ssl-perl": ["perl:IO::Socket::SSL"],
  fetchmail: ["fetchmail"],
  curl: ["curl"],
  python3: ["python3"],
  "dovecot-imapd": ["/usr/lib/dovecot/imap"],
  chromium: ["/usr/bin/chromium"],
};

/** A command on the PATH, or `perl:Module` for a Perl module. */
const has = (check) => {
  try {
    if (check.startsWith("perl:")) execFileSync("perl", [`-M${check.slice(5)}`, "-e", "1"], { stdio: "ignore" });
    else execFileSync("sh", ["-c", `command -v ${check}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

const missing = Object.entries(needed)
  .filter(([, commands]) => !commands.every(has))
  .map(([pkg]) => pkg);

if (missing.length === 0) process.exit(0);

if (process.getuid?.() !== 0) {
  console.error(`pretest: the tests need these Debian packages: ${missing.join(" ")}`);
  console.error(`pretest: install them (apt-get install ${missing.join(" ")}) or run the tests as root`);
  process.exit(1);
}

console.error(`pretest: installing ${missing.join(" ")}`);
const apt = (args) => execFileSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
apt(["update", "-qq"]);
apt(["install", "-y", "-qq", "--no-install-recommends", ...missing]);
