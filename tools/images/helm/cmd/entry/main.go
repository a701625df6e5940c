// entry stands in for klipper-helm's `entry` bash script (k3s-io/klipper-helm, file `entry`),
// which that image runs beside helm; this image has no shell, so the same steps are Go that runs
// the same helm commands. Not done: the set-status and mapkubeapis plugins (not in this image),
// so a release left pending-upgrade or superseded is not reset to failed first (its retried
// upgrade fails here where klipper-helm's goes on), the other pending states are handled as
// failed, and no API mapping precedes an upgrade; and the deprecated `stable` repository.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

const termLog = "/dev/termination-log"

func main() {
	// As upstream: an interrupted helm leaves the release pending.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
	if len(os.Args) < 2 {
		fail(2, "usage: entry install|delete [helm flags]")
	}
	if os.Getenv("HELM_VERSION") == "v2" {
		fail(64, "Helm v2 is EOL effective 2020-11-13; upgrade your chart to helm v3")
	}
	// As upstream: repositories served by the API server (k3s's /static/charts) verify against
	// the ServiceAccount's CA.
	os.Setenv("SSL_CERT_FILE", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
	os.Setenv("SSL_CERT_DIR", "/etc/ssl/certs")
	os.Setenv("HELM_TLS_CA_CERT", os.Getenv("SSL_CERT_FILE"))
	e := newEnv()
	if os.Args[1] != "delete" {
		e.repoInit()
	}
	e.update(os.Args[1:])
}

type env struct {
	name, namespace, chart string
	// The repository's TLS flags (CA, verification), which `repo add` takes too.
	tls []string
	// Flags every install and upgrade carries: tls and plain HTTP, timeout, labels.
	common []string
}

func newEnv() *env {
	e := &env{name: os.Getenv("NAME"), namespace: os.Getenv("TARGET_NAMESPACE"), chart: os.Getenv("CHART")}
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	e.chart = strings.ReplaceAll(e.chart, "%{KUBERNETES_API}%", host+":"+port)

	var cas []byte
	files, _ := filepath.Glob("/ca-files/*")
	for _, f := range append([]string{"/config/ca-file.pem"}, files...) {
		if b, err := os.ReadFile(f); err == nil {
			cas = append(append(cas, '\n'), b...)
		}
	}
	if cas != nil {
		must(os.WriteFile("/tmp/ca-file.pem", cas, 0o600))
		e.tls = append(e.tls, "--ca-file", "/tmp/ca-file.pem")
	}
	if os.Getenv("INSECURE_SKIP_TLS_VERIFY") == "true" {
		e.tls = append(e.tls, "--insecure-skip-tls-verify")
	}
	e.common = append(e.common, e.tls...)
	if os.Getenv("PLAIN_HTTP") == "true" {
		e.common = append(e.common, "--plain-http")
	}
	if t := os.Getenv("TIMEOUT"); t != "" {
		e.common = append(e.common, "--timeout", t)
	}
	if h := os.Getenv("CONFIG_HASH"); h != "" {
		e.common = append(e.common, "--labels", "helmcharts.helm.cattle.io/configHash="+h)
	}
	// The chart's content, when the HelmChart carries it (spec.chartContent), replaces CHART.
	if enc, err := os.ReadFile("/chart/" + e.name + ".tgz.base64"); err == nil {
		tgz, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(enc)))
		must(err)
		e.chart = "/tmp/" + e.name + ".tgz"
		must(os.WriteFile(e.chart, tgz, 0o600))
	}
	return e
}

func (e *env) repoInit() {
	if regexp.MustCompile(`https?://`).MatchString(e.chart) {
		fmt.Println("chart path is a url, skipping repo update")
		return
	}
	repo := os.Getenv("REPO")
	if repo == "" {
		return
	}
	add := append([]string{"repo", "add"}, e.tls...)
	if os.Getenv("AUTH_PASS_CREDENTIALS") == "true" {
		add = append(add, "--pass-credentials")
	}
	name := strings.SplitN(e.name, "/", 2)[0]
	user, uerr := os.ReadFile("/auth/username")
	password, perr := os.ReadFile("/auth/password")
	switch {
	case uerr == nil && perr == nil:
		cmd := exec.Command("helm", append(add, "--username", string(user), "--password-stdin", name, repo)...)
		cmd.Stdin = strings.NewReader(string(password))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		must(cmd.Run())
	case exists("/auth/tls.crt") && exists("/auth/tls.key"):
		helm(append(add, "--cert-file", "/auth/tls.crt", "--key-file", "/auth/tls.key", name, repo)...)
	default:
		helm(append(add, name, repo)...)
	}
	helm("repo", "update")
}

func (e *env) update(args []string) {
	status, revision, method := e.status()
	values, _ := filepath.Glob("/config/*.yaml")
	var valueArgs []string
	for _, v := range values {
		valueArgs = append(valueArgs, "--values", v)
	}
	install := func(ssa []string) {
		log("Installing helm chart")
		helm(append(append(append(append(args, e.name, e.chart), e.common...), ssa...), valueArgs...)...)
	}
	upgrade := func() {
		helm(append(append(append(append(append([]string{"upgrade"}, args[1:]...), e.name, e.chart), e.common...), ssaArgs(revision, method)...), valueArgs...)...)
	}
	if args[0] == "delete" {
		if revision == "" {
			log("No helm chart installed; nothing to delete")
			return
		}
		checkRevision(revision)
		log("Uninstalling helm chart")
		_ = run("helm", "uninstall", e.name, "--namespace", e.namespace, "--wait")
		return
	}
	if revision == "" && status == "" {
		install(ssaArgs("", ""))
		return
	}
	checkRevision(revision)
	switch {
	case status == "pending-upgrade" || status == "superseded":
		log("Retrying upgrade of helm chart")
		upgrade()
	case status == "deployed":
		log("Upgrading helm chart")
		upgrade()
	case regexp.MustCompile(`^(deleted|failed|null|unknown|pending-install|pending-rollback|uninstalling)$`).MatchString(status):
		switch p := os.Getenv("FAILURE_POLICY"); p {
		case "", "reinstall":
			log("Uninstalling " + status + " helm chart")
			helm("uninstall", e.name, "--namespace", e.namespace, "--wait")
			install(ssaArgs("", ""))
		case "abort":
			fail(1, "Release status is '"+status+"' and failure policy is 'abort'; waiting for operator intervention")
		case "retry":
			log("Upgrading " + e.name + " from failed state")
			upgrade()
		default:
			fail(1, "Unknown failure policy '"+p+"'")
		}
	default:
		install(ssaArgs(revision, method))
	}
}

// status is the release's status, revision and apply method; empty when there is none.
func (e *env) status() (string, string, string) {
	out, err := exec.Command("helm", "status", "--namespace", e.namespace, e.name, "--output", "json").Output()
	if err != nil {
		return "", "", ""
	}
	var r struct {
		Info        struct{ Status string } `json:"info"`
		Version     int                     `json:"version"`
		ApplyMethod string                  `json:"apply_method"`
	}
	must(json.Unmarshal(out, &r))
	return r.Info.Status, fmt.Sprint(r.Version), r.ApplyMethod
}

// ssaArgs: --server-side takes only true/false on install (auto becomes true), and
// --force-conflicts is dropped when auto resolves to client-side apply. Upstream means to drop it
// for SERVER_SIDE=false too, but its test (`[[ $SERVER_SIDE == ^false$ ]]`) never matches, so
// the flag stays there and helm decides; the same here, so this image fails where it would.
func ssaArgs(revision, method string) []string {
	serverSide, force := os.Getenv("SERVER_SIDE"), os.Getenv("FORCE_CONFLICTS")
	if revision == "" && serverSide == "auto" {
		serverSide = "true"
	}
	if force == "true" && serverSide == "auto" && method != "ssa" {
		force = "false"
	}
	var out []string
	if serverSide != "" {
		out = append(out, "--server-side="+serverSide)
	}
	if force != "" {
		out = append(out, "--force-conflicts="+force)
	}
	return out
}

func checkRevision(revision string) {
	if want := os.Getenv("EXPECTED_RELEASE_REVISION"); want != "" && want != revision {
		log("Current release revision " + revision + " does not match expected revision " + want)
		os.Exit(0)
	}
}

func helm(args ...string) {
	if err := run("helm", args...); err != nil {
		fail(1, "helm "+args[0]+": "+err.Error())
	}
}

func run(name string, args ...string) error {
	fmt.Println("+", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// log writes to the termination log (what `kubectl describe` shows of a finished pod) and stdout.
func log(msg string) {
	fmt.Println(msg)
	if f, err := os.OpenFile(termLog, os.O_APPEND|os.O_WRONLY, 0); err == nil {
		fmt.Fprintln(f, msg)
		f.Close()
	}
}

func fail(code int, msg string) {
	log(msg)
	os.Exit(code)
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func must(err error) {
	if err != nil {
		fail(1, err.Error())
	}
}
