// probe is the engine tests' client inside the cluster: GETs its URL (no redirect followed, 3 s
// a try) until an HTTP answer comes back or SECONDS pass, a try a second. It prints the status
// and the number of tries, or the last error, and exits 0 when an answer came back (whatever its
// status) and 1 when none did, so a pod running it says in its exit code whether it could
// connect. Retrying covers a new pod's first seconds, before a network policy controller has
// added its address to the sets that admit it; a policy that drops or rejects its packets makes
// every try fail.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: probe URL SECONDS")
		os.Exit(2)
	}
	seconds, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "SECONDS:", err)
		os.Exit(2)
	}
	client := http.Client{
		Timeout:       3 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for try := 1; ; try++ {
		res, err := client.Get(os.Args[1])
		if err == nil {
			_ = res.Body.Close()
			fmt.Printf("status: %d (try %d)\n", res.StatusCode, try)
			return
		}
		if time.Now().After(deadline) {
			fmt.Printf("error: %v (%d tries)\n", err, try)
			os.Exit(1)
		}
		time.Sleep(time.Second)
	}
}
