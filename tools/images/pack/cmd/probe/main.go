// probe is the engine tests' client inside the cluster: one HTTP GET of its argument, with a
// deadline and no redirect followed. It prints the status, or the error, and exits 0 when an
// HTTP answer came back (whatever its status) and 1 when none did, so a pod running it says in
// its exit code whether it could connect: a network policy that drops its packets makes it time out.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probe URL")
		os.Exit(2)
	}
	client := http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Get(os.Args[1])
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	_ = res.Body.Close()
	fmt.Println("status:", res.StatusCode)
}
