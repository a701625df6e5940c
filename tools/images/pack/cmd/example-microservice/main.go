// example-microservice stands in for a service built by templates/microservice.gitlab-ci.yml:
// it takes what the Microservice component gives a pod (PORT, BASE_PATH, the CONFIG file
// from the ConfigMap, AGENT = the pod's name) and answers under BASE_PATH with who served the
// request and which build ($VERSION, set in the image) did. It refuses to start without its
// config file, as a real service would, and on SIGTERM keeps serving for a few seconds (until
// kube-proxy has dropped the pod from the Service) before it drains and exits. It says which
// TOKEN it was given, as the variable and as the file /secrets/TOKEN, by SHA-256 digest only
// (what the stack's service secrets deliver, without the value ever leaving the pod).
// START_DELAY (a Go duration, e.g. 20s) makes it wait that long before it listens, as a service
// that loads its state first: the engine tests use it to make a replacement pod slow to become ready.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// drainDelay covers the time between the pod's deletion and every node's rules leaving it.
const drainDelay = 5 * time.Second

func main() {
	port, base, config := os.Getenv("PORT"), os.Getenv("BASE_PATH"), os.Getenv("CONFIG")
	if port == "" || !strings.HasPrefix(base, "/") {
		log.Fatalf("PORT and BASE_PATH (starting with /) are required, got %q and %q", port, base)
	}
	if _, err := os.Stat(config); err != nil {
		log.Fatalf("config file: %v", err)
	}
	if d := os.Getenv("START_DELAY"); d != "" {
		delay, err := time.ParseDuration(d)
		if err != nil {
			log.Fatalf("START_DELAY: %v", err)
		}
		log.Printf("starting in %s", delay)
		time.Sleep(delay)
	}
	http.HandleFunc(strings.TrimSuffix(base, "/")+"/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		answer := map[string]string{"pod": os.Getenv("AGENT"), "version": os.Getenv("VERSION"), "path": r.URL.Path}
		if token, ok := os.LookupEnv("TOKEN"); ok {
			answer["tokenEnvSha256"] = digest([]byte(token))
		}
		if token, err := os.ReadFile("/secrets/TOKEN"); err == nil {
			answer["tokenFileSha256"] = digest(token)
		}
		_ = json.NewEncoder(w).Encode(answer)
	})
	server := &http.Server{Addr: ":" + port, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		<-stop
		log.Printf("terminating: serving %s more, then draining", drainDelay)
		time.Sleep(drainDelay)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			log.Printf("drain: %v", err)
		}
		close(done)
	}()
	log.Printf("listening on :%s under %s", port, base)
	if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-done
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
