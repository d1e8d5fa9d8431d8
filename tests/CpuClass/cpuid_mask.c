/*
 * cpuid_mask.so: an LD_PRELOAD shim that shows a process a smaller x64 instruction class than the processor's, so the
 * precision tests and the benchmarks can run ONNX Runtime's (MLAS) and .NET's AVX2 or AVX-512 code paths on a machine
 * that has more. CXAS_CPUID_CLASS names the class:
 *   avx2     no AVX-512 and no VNNI of any kind (the AVX2 servers: Haswell to Coffee Lake, Zen 1 to 3);
 *   avx512   AVX-512 F, CD, BW, DQ, VL without VNNI or the later AVX-512 sets (Skylake-SP);
 *   avxvnni  AVX2 with AVX-VNNI, no AVX-512 (Alder Lake and later client cores);
 *   native   nothing changed (the shim stays out of the way).
 * The shim only clears feature bits: a class needing bits this processor lacks is refused (exit 3), so a masked run
 * never claims instructions the hardware cannot execute.
 *
 * How: Linux CPUID faulting (arch_prctl ARCH_SET_CPUID 0, the "cpuid_fault" flag in /proc/cpuinfo; kept by threads
 * created later and by fork, reset on execve, which LD_PRELOAD covers) turns each CPUID instruction into a SIGSEGV.
 * The handler runs the real CPUID with faulting briefly off, clears the class's bits of leaf 7 (sub-leaves 0 and 1),
 * writes EAX..EDX into the interrupted context and steps over the 2-byte instruction. XGETBV is not trapped: .NET and
 * MLAS read the CPUID feature bits first and use a feature only when both say yes.
 * The dynamic loader and glibc read CPUID before the constructor runs; they only pick string-function variants.
 *
 * The runtime installs its own SIGSEGV handler later (.NET: null references, stack overflow). So that CPUID faults
 * still reach this shim first, sigaction() and signal() are wrapped for SIGSEGV: the program sees and sets its own
 * action as usual (the previous one it is given is the action from before the shim), the kernel keeps this handler,
 * and every SIGSEGV that is not a trapped CPUID goes on to the program's action as if it had been called directly.
 * SA_NODEFER is added so that a CPUID inside the program's own SIGSEGV handler can be trapped too.
 *
 * CXAS_CPUID_VERBOSE=1 prints the class at start and, at exit, how many CPUID instructions were trapped.
 * Build: gcc -shared -fPIC -O2 -o cpuid_mask.so cpuid_mask.c -ldl
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* Leaf 7 sub-leaf 0 EBX: AVX-512 F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31. */
#define L7_EBX_AVX512_ALL 0xDC230000u
#define L7_EBX_AVX512_CORE 0xD0030000u /* F, DQ, CD, BW, VL */
/* Leaf 7 sub-leaf 0 ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14. */
#define L7_ECX_AVX512_LATER 0x00005842u
/* Leaf 7 sub-leaf 0 EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, AVX512-FP16 23, AMX-TILE 24, AMX-INT8 25. */
#define L7_EDX_AVX512_LATER 0x03C0010Cu
/* Leaf 7 sub-leaf 1 EAX: AVX-VNNI 4, AVX512-BF16 5, AMX-FP16 21, AVX-IFMA 23. */
#define L71_EAX_AVX_VNNI 0x00000010u
#define L71_EAX_LATER 0x00A00020u
/* Leaf 7 sub-leaf 1 EDX: AVX-VNNI-INT8 4, AVX-NE-CONVERT 5, AVX-VNNI-INT16 10, AVX10 19. */
#define L71_EDX_LATER 0x00080430u

struct cpu_class {
    const char *name;
    uint32_t clear_ebx, clear_ecx, clear_edx; /* leaf 7.0 */
    uint32_t clear_1eax, clear_1edx;          /* leaf 7.1 */
    uint32_t need_ebx, need_1eax;             /* bits the class must really have */
};

static const struct cpu_class classes[] = {
    { "avx2", L7_EBX_AVX512_ALL, L7_ECX_AVX512_LATER, L7_EDX_AVX512_LATER, L71_EAX_LATER | L71_EAX_AVX_VNNI, L71_EDX_LATER,
      1u << 5, 0 },
    { "avx512", L7_EBX_AVX512_ALL & ~L7_EBX_AVX512_CORE, L7_ECX_AVX512_LATER, L7_EDX_AVX512_LATER,
      L71_EAX_LATER | L71_EAX_AVX_VNNI, L71_EDX_LATER, (1u << 5) | L7_EBX_AVX512_CORE, 0 },
    { "avxvnni", L7_EBX_AVX512_ALL, L7_ECX_AVX512_LATER, L7_EDX_AVX512_LATER, L71_EAX_LATER, L71_EDX_LATER,
      1u << 5, L71_EAX_AVX_VNNI },
};

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;
static const struct cpu_class *active;  /* null: native, nothing trapped */
static struct sigaction program_action; /* the SIGSEGV action the program believes is installed */
static unsigned long trapped;

/* The real CPUID, with faulting off for this thread while it runs. */
static void real_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
}

static void masked_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    real_cpuid(leaf, sub, r);
    if (leaf == 7 && sub == 0) {
        r[1] &= ~active->clear_ebx;
        r[2] &= ~active->clear_ecx;
        r[3] &= ~active->clear_edx;
    } else if (leaf == 7 && sub == 1) {
        r[0] &= ~active->clear_1eax;
        r[3] &= ~active->clear_1edx;
    }
}

/* A SIGSEGV the shim does not own goes to the program's action, as the kernel would have delivered it. */
static void forward(int sig, siginfo_t *info, void *context)
{
    struct sigaction program = program_action;
    if (program.sa_flags & SA_SIGINFO) {
        program.sa_sigaction(sig, info, context);
    } else if (program.sa_handler == SIG_DFL || program.sa_handler == SIG_IGN) {
        /* The default action for a fault: the instruction runs again on return and the process ends as without the shim. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        real_sigaction(SIGSEGV, &dfl, NULL);
    } else {
        program.sa_handler(sig);
    }
}

static void on_segv(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    greg_t *g = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)g[REG_RIP];
    /* A trapped CPUID is a general-protection fault (SI_KERNEL) on the bytes 0F A2. */
    if (active && info->si_code == SI_KERNEL && ip[0] == 0x0F && ip[1] == 0xA2) {
        int saved = errno;
        uint32_t r[4];
        masked_cpuid((uint32_t)g[REG_RAX], (uint32_t)g[REG_RCX], r);
        g[REG_RAX] = r[0];
        g[REG_RBX] = r[1];
        g[REG_RCX] = r[2];
        g[REG_RDX] = r[3];
        g[REG_RIP] += 2;
        __atomic_fetch_add(&trapped, 1, __ATOMIC_RELAXED);
        errno = saved;
        return;
    }
    forward(sig, info, context);
}

/* The kernel's SIGSEGV action: this handler, with the program's mask and stack choice. */
static int install(const struct sigaction *program)
{
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = on_segv;
    ours.sa_flags = SA_SIGINFO | SA_NODEFER | (program->sa_flags & (SA_ONSTACK | SA_RESTART));
    ours.sa_mask = program->sa_mask;
    return real_sigaction(SIGSEGV, &ours, NULL);
}

static int wrapped_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!real_sigaction) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    if (!active || sig != SIGSEGV) return real_sigaction(sig, act, old);
    if (old) *old = program_action;
    if (act) {
        program_action = *act;
        program_action.sa_flags &= ~SA_RESETHAND; /* kept simple: the program's action stays */
        return install(act);
    }
    return 0;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) { return wrapped_sigaction(sig, act, old); }
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old) { return wrapped_sigaction(sig, act, old); }

sighandler_t signal(int sig, sighandler_t handler)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    if (wrapped_sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}

static int verbose(void)
{
    const char *v = getenv("CXAS_CPUID_VERBOSE");
    return v && strcmp(v, "1") == 0;
}

__attribute__((constructor)) static void start(void)
{
    real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    const char *name = getenv("CXAS_CPUID_CLASS");
    if (!name || !*name || strcmp(name, "native") == 0) {
        if (verbose()) fprintf(stderr, "cpuid_mask: native (pid %d)\n", (int)getpid());
        return;
    }
    const struct cpu_class *chosen = NULL;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(name, classes[i].name) == 0) chosen = &classes[i];
    if (!chosen) {
        fprintf(stderr, "cpuid_mask: unknown CXAS_CPUID_CLASS '%s' (avx2, avx512, avxvnni, native)\n", name);
        _exit(2);
    }
    uint32_t l70[4], l71[4];
    __cpuid_count(7, 0, l70[0], l70[1], l70[2], l70[3]);
    __cpuid_count(7, 1, l71[0], l71[1], l71[2], l71[3]);
    if ((l70[1] & chosen->need_ebx) != chosen->need_ebx || (l71[0] & chosen->need_1eax) != chosen->need_1eax) {
        fprintf(stderr, "cpuid_mask: this processor cannot present class %s (it lacks some of its instructions)\n", name);
        _exit(3);
    }
    real_sigaction(SIGSEGV, NULL, &program_action);
    active = chosen;
    if (install(&program_action) != 0 || syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        fprintf(stderr, "cpuid_mask: CPUID faulting is not available here (%s); no cpuid_fault in /proc/cpuinfo?\n",
                strerror(errno));
        _exit(3);
    }
    if (verbose()) fprintf(stderr, "cpuid_mask: presenting %s (pid %d)\n", name, (int)getpid());
}

__attribute__((destructor)) static void finish(void)
{
    if (active && verbose())
        fprintf(stderr, "cpuid_mask: %lu CPUID instructions trapped (pid %d)\n",
                __atomic_load_n(&trapped, __ATOMIC_RELAXED), (int)getpid());
}
