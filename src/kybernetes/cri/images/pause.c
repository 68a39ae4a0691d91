/* kyb pause: PID 1 of every pod sandbox (the role of kubernetes/build/pause/linux/pause.c).
 *
 * Contract, as upstream's pause:
 *   - sleeps until told to stop; SIGINT or SIGTERM -> exit status 0;
 *   - reaps every exited child on SIGCHLD (with a shared pid namespace, orphans of
 *     all the pod's containers are re-parented to it);
 *   - "-v" prints the version and exits 0.
 *
 * No libc, so the static binary is a few KB and building it needs only gcc (no libc.a):
 * raw Linux syscalls on x86_64 and aarch64. Instead of signal handlers (which would need
 * an sa_restorer trampoline) the three signals are blocked and taken with
 * rt_sigtimedwait. A blocked signal is never dropped, even for PID 1 of a pid namespace
 * where an unblocked signal with the default action would be (kernel/signal.c
 * sig_ignored: "Blocked signals are never ignored").
 *
 * Build: .venv/bin/python -m kybernetes.cri.images.pause  (writes pause-<arch> next to this file)
 */

#define SIGINT 2
#define SIGTERM 15
#define SIGCHLD 17
#define SIG_BLOCK 0
#define WNOHANG 1
#define EINTR 4

#if defined(__x86_64__)
#define NR_write 1
#define NR_rt_sigprocmask 14
#define NR_wait4 61
#define NR_rt_sigtimedwait 128
#define NR_exit_group 231
static long sys4(long n, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}
__asm__(".text\n.global _start\n_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start\n"
        "  hlt\n");
#elif defined(__aarch64__)
#define NR_write 64
#define NR_rt_sigprocmask 135
#define NR_wait4 260
#define NR_rt_sigtimedwait 137
#define NR_exit_group 94
static long sys4(long n, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
__asm__(".text\n.global _start\n_start:\n"
        "  mov x0, sp\n"
        "  bl start\n"
        "  brk #0\n");
#else
#error "pause.c: only x86_64 and aarch64"
#endif

static void say(const char *s) {
  long n = 0;
  while (s[n]) n++;
  sys4(NR_write, 2, (long)s, n, 0);
}

static __attribute__((noreturn)) void quit(int code) {
  for (;;) sys4(NR_exit_group, code, 0, 0, 0);
}

__attribute__((noreturn, used)) void start(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  if (argc > 1 && argv[1][0] == '-' && argv[1][1] == 'v' && argv[1][2] == 0) {
    const char *v = "kyb-pause 3.10\n";
    long n = 0;
    while (v[n]) n++;
    sys4(NR_write, 1, (long)v, n, 0);
    quit(0);
  }
  unsigned long set = (1UL << (SIGINT - 1)) | (1UL << (SIGTERM - 1)) | (1UL << (SIGCHLD - 1));
  if (sys4(NR_rt_sigprocmask, SIG_BLOCK, (long)&set, 0, sizeof set) < 0) quit(1);
  for (;;) {
    long sig = sys4(NR_rt_sigtimedwait, (long)&set, 0, 0, sizeof set);
    if (sig == SIGCHLD) {
      while (sys4(NR_wait4, -1, 0, WNOHANG, 0) > 0) {
      }
    } else if (sig == SIGINT || sig == SIGTERM) {
      say("Shutting down, got signal\n");
      quit(0);
    } else if (sig < 0 && sig != -EINTR) {
      quit(2);
    }
  }
}
