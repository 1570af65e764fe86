package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play a command (CLI_HELPER=mode) that
// the tests signal.
func TestMain(m *testing.M) {
	if mode := os.Getenv("CLI_HELPER"); mode != "" {
		helper(mode)
		return
	}
	os.Exit(m.Run())
}

// helper is a command: "clean" stops when its context ends; "stuck" never
// looks at its context (a call blocked in the kernel).
func helper(mode string) {
	ctx, stop := SignalContext(context.Background(), "helper", os.Stderr)
	fmt.Println("ready")
	if mode == "clean" {
		<-ctx.Done()
		fmt.Fprintln(os.Stderr, "helper: stopped cleanly")
		stop()
		os.Exit(7)
	}
	select {} // stuck
}

func startHelper(t *testing.T, mode string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CLI_HELPER="+mode)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("helper did not start: %q %v", buf, err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &stderr
}

// wait returns the helper's exit status; a helper still running after a
// generous limit has hung, which is what this guards against.
func wait(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not exit after the signal")
		return -1
	}
}

func TestSignalContext(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		signals []syscall.Signal
		code    int
		says    string
	}{
		{"interrupt ends a command that watches its context", "clean", []syscall.Signal{syscall.SIGINT}, 7, "stopped cleanly"},
		{"terminate ends it too", "clean", []syscall.Signal{syscall.SIGTERM}, 7, "stopped cleanly"},
		{"a stuck command is made to exit after the grace period", "stuck", []syscall.Signal{syscall.SIGINT}, 130, "interrupted, still stopping after 1.5s: exiting now"},
		{"a stuck command ends on SIGTERM", "stuck", []syscall.Signal{syscall.SIGTERM}, 143, "terminated, still stopping"},
		{"a second Ctrl-C exits at once", "stuck", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, 130, "interrupted again: exiting now"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, stderr := startHelper(t, tc.mode)
			for _, s := range tc.signals {
				if err := cmd.Process.Signal(s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if code := wait(t, cmd); code != tc.code || !strings.Contains(stderr.String(), tc.says) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.says)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(os.Interrupt) != 130 || ExitCode(syscall.SIGTERM) != 143 {
		t.Fatal(ExitCode(os.Interrupt), ExitCode(syscall.SIGTERM))
	}
}
