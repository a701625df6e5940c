// pack-image puts a static binary (the entrypoint), and any more it is given, into a one-layer
// OCI image and writes it as an archive for `ctr images import`, or pushes it to a registry.
// The local cluster can pull nothing, so every image its pods run is made this way from
// binaries built here.
//
//	pack-image -binary BIN [-with BIN]... -name REF [-user UID:GID] [-env K=V]... -out FILE.tar
//	pack-image -binary BIN [-with BIN]... -name REF [-user UID:GID] [-env K=V]... -push -ca CA.pem -username U
//	    (password from $PACK_IMAGE_PASSWORD: never on a command line)
package main

import (
	"archive/tar"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type listFlag []string

func (e *listFlag) String() string     { return strings.Join(*e, ",") }
func (e *listFlag) Set(v string) error { *e = append(*e, v); return nil }

func main() {
	binary := flag.String("binary", "", "static executable; becomes /<its name> and the entrypoint")
	ref := flag.String("name", "", "image reference, e.g. docker.io/rancher/mirrored-pause:3.6")
	user := flag.String("user", "", "numeric UID:GID the image runs as (empty: root)")
	out := flag.String("out", "", "write an image archive here")
	push := flag.Bool("push", false, "push to the registry of -name instead")
	ca := flag.String("ca", "", "with -push: CA certificate the registry's is verified against")
	username := flag.String("username", "", "with -push: registry user; password from $PACK_IMAGE_PASSWORD")
	var env, with listFlag
	flag.Var(&env, "env", "K=V in the image's environment (repeatable)")
	flag.Var(&with, "with", "another static executable, at /<its name> on the image's PATH (repeatable)")
	flag.Parse()
	if *binary == "" || *ref == "" || (*out == "") == !*push {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(append([]string{*binary}, with...), *ref, *user, env, *out, *push, *ca, *username); err != nil {
		fmt.Fprintln(os.Stderr, "pack-image:", err)
		os.Exit(1)
	}
}

func run(binaries []string, ref, user string, env []string, out string, push bool, ca, username string) error {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return err
	}
	img, err := image(binaries, user, env)
	if err != nil {
		return err
	}
	if !push {
		return tarball.WriteToFile(out, tag, img)
	}
	transport, err := verifying(ca)
	if err != nil {
		return err
	}
	auth := &authn.Basic{Username: username, Password: os.Getenv("PACK_IMAGE_PASSWORD")}
	return remote.Write(tag, img, remote.WithAuth(auth), remote.WithTransport(transport))
}

// image is each binary at /<name> (the first is the entrypoint), with /tmp for programs that
// want one.
func image(binaries []string, user string, env []string) (v1.Image, error) {
	entry := filepath.Base(binaries[0])
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
		return nil, err
	}
	for _, b := range binaries {
		exe, err := os.ReadFile(b)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.Base(b), Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(exe))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(exe); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	return mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: mustDiffIDs(img)},
		Config:       v1.Config{Entrypoint: []string{"/" + entry}, User: user, Env: append([]string{"PATH=/"}, env...), WorkingDir: "/"},
	})
}

func mustDiffIDs(img v1.Image) []v1.Hash {
	cfg, err := img.ConfigFile()
	if err != nil {
		panic(err)
	}
	return cfg.RootFS.DiffIDs
}

// verifying trusts only the given CA: the registry's certificate is checked, never skipped.
func verifying(caFile string) (http.RoundTripper, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return httpsOnly{t}, nil
}

// httpsOnly refuses plain http, which go-containerregistry tries beside https for loopback and
// private registries (pkg/name/registry.go Scheme, pkg/v1/remote/transport/ping.go): the
// password must never go unencrypted.
type httpsOnly struct{ http.RoundTripper }

func (t httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		return nil, fmt.Errorf("refusing %s: the registry is reached over verified TLS only", r.URL.Redacted())
	}
	return t.RoundTripper.RoundTrip(r)
}
