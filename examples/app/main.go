// Command app is the tiny static program behind the example and test images
// (flotilla-demo/app, flotilla-test/app): FROM scratch, no registry needed.
//
//	app              serve HTTP on $PORT (default 8080), answering $VERSION
//	app healthcheck  exit 1 when UNHEALTHY=1 or the server does not answer
//	app cat FILE     print FILE (to read a mounted secret from inside a task)
//
// CRASH=1 makes the server exit 3 at start; START_DELAY (a Go duration)
// delays listening, and so readiness.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "healthcheck":
			os.Exit(healthcheck())
		case "cat":
			os.Exit(cat(os.Args[2:]))
		case "sleep":
			// For jobs: run for a while, then complete.
			d, _ := time.ParseDuration(arg(os.Args, 2, "1s"))
			time.Sleep(d)
			return
		default:
			fmt.Fprintf(os.Stderr, "app: unknown subcommand %q\n", os.Args[1])
			os.Exit(2)
		}
	}
	if os.Getenv("CRASH") == "1" {
		fmt.Fprintln(os.Stderr, "app: CRASH=1, exiting")
		os.Exit(3)
	}
	if d, err := time.ParseDuration(os.Getenv("START_DELAY")); err == nil {
		time.Sleep(d)
	}
	version := os.Getenv("VERSION")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, version)
	})
	addr := ":" + port()
	fmt.Printf("app %s listening on %s\n", version, addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

func arg(args []string, i int, def string) string {
	if len(args) > i {
		return args[i]
	}
	return def
}

func port() string {
	if p := os.Getenv("PORT"); p != "" {
		return p
	}
	return "8080"
}

func healthcheck() int {
	if os.Getenv("UNHEALTHY") == "1" {
		fmt.Fprintln(os.Stderr, "unhealthy: UNHEALTHY=1")
		return 1
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + port() + "/")
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		return 1
	}
	resp.Body.Close()
	return 0
}

func cat(files []string) int {
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_, err = io.Copy(os.Stdout, fh)
		fh.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}
