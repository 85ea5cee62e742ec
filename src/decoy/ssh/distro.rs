//! The files and folders a fresh install of each profile's distribution has, beyond those
//! [`super::profile`] lists inline: account and host files, the dotfiles a new home gets,
//! and the folders under `/etc`, `/usr` and `/var`. What an intruder lists first after a
//! login (`ls -la ~`, `ls /etc`, `cat /etc/hosts`, `cat /proc/version`) is answered from
//! here. The dotfiles are written for this sensor in the distributions' manner (what they
//! set, not their wording), so their sizes are their own.

/// `/etc/group` of a fresh Debian 12: base-passwd's groups, then those the installed
/// packages add, in the order they add them. Users' own groups follow.
pub const DEBIAN_GROUP: &str = "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nlp:x:7:\nmail:x:8:\nnews:x:9:\nuucp:x:10:\nman:x:12:\nproxy:x:13:\nkmem:x:15:\ndialout:x:20:\nfax:x:21:\nvoice:x:22:\ncdrom:x:24:\nfloppy:x:25:\ntape:x:26:\nsudo:x:27:\naudio:x:29:\ndip:x:30:\nwww-data:x:33:\nbackup:x:34:\noperator:x:37:\nlist:x:38:\nirc:x:39:\nsrc:x:40:\nshadow:x:42:\nutmp:x:43:\nvideo:x:44:\nsasl:x:45:\nplugdev:x:46:\nstaff:x:50:\ngames:x:60:\nusers:x:100:\nnogroup:x:65534:\nsystemd-journal:x:999:\nsystemd-network:x:998:\nsystemd-timesync:x:997:\ninput:x:101:\nsgx:x:102:\nkvm:x:103:\nrender:x:104:\ncrontab:x:105:\nnetdev:x:106:\nmessagebus:x:107:\n_ssh:x:108:\n";

/// `/etc/group` of a fresh Ubuntu 24.04 server, its gids those its `/etc/passwd` uses.
pub const UBUNTU_GROUP: &str = "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:syslog\ntty:x:5:\ndisk:x:6:\nlp:x:7:\nmail:x:8:\nnews:x:9:\nuucp:x:10:\nman:x:12:\nproxy:x:13:\nkmem:x:15:\ndialout:x:20:\nfax:x:21:\nvoice:x:22:\ncdrom:x:24:\nfloppy:x:25:\ntape:x:26:\nsudo:x:27:\naudio:x:29:\ndip:x:30:\nwww-data:x:33:\nbackup:x:34:\noperator:x:37:\nlist:x:38:\nirc:x:39:\nsrc:x:40:\nshadow:x:42:\nutmp:x:43:\nvideo:x:44:\nsasl:x:45:\nplugdev:x:46:\nstaff:x:50:\ngames:x:60:\nusers:x:100:\nnogroup:x:65534:\nsystemd-journal:x:999:\nsystemd-network:x:998:\ninput:x:997:\nsystemd-timesync:x:996:\nsgx:x:995:\nkvm:x:994:\nrender:x:993:\nsystemd-resolve:x:992:\npolkitd:x:991:\nmessagebus:x:101:\ncrontab:x:102:\n_ssh:x:103:\nsyslog:x:104:\nuuidd:x:105:\nrdma:x:106:\ntcpdump:x:107:\ntss:x:108:\nlandscape:x:109:\nfwupd-refresh:x:989:\n";

/// `/etc/hosts` as the Debian installer writes it; `{hostname}` is filled in.
pub const DEBIAN_HOSTS: &str = "127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";

/// `/etc/hosts` as Ubuntu's server installer writes it.
pub const UBUNTU_HOSTS: &str = "127.0.0.1 localhost\n127.0.1.1 {hostname}\n\n# The following lines are desirable for IPv6 capable hosts\n::1     ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";

const BASH_LOGOUT: &str = "# ~/.bash_logout: run by bash when a login shell exits.\n\n# clear the screen on leaving the console, for privacy\nif [ \"$SHLVL\" = 1 ]; then\n    [ -x /usr/bin/clear_console ] && /usr/bin/clear_console -q\nfi\n";

const PROFILE: &str = "# ~/.profile: run by login shells.\n# bash reads ~/.bash_profile or ~/.bash_login instead when either exists.\n# The default umask is set in /etc/profile; change it here for this user only.\n#umask 022\n\n# bash: read .bashrc too\nif [ -n \"$BASH_VERSION\" ]; then\n    if [ -f \"$HOME/.bashrc\" ]; then\n\t. \"$HOME/.bashrc\"\n    fi\nfi\n\n# the user's own programs first\nif [ -d \"$HOME/bin\" ] ; then\n    PATH=\"$HOME/bin:$PATH\"\nfi\nif [ -d \"$HOME/.local/bin\" ] ; then\n    PATH=\"$HOME/.local/bin:$PATH\"\nfi\n";

/// The part of both distributions' user `.bashrc` before the aliases.
macro_rules! bashrc_head {
    () => {
        "# ~/.bashrc: run by bash for non-login interactive shells.\n\n# not interactive: nothing to do\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\n\n# history: no duplicates, no lines starting with a space; append, never overwrite\nHISTCONTROL=ignoreboth\nshopt -s histappend\nHISTSIZE=1000\nHISTFILESIZE=2000\n\n# keep LINES and COLUMNS in step with the window\nshopt -s checkwinsize\n\n# the chroot's name, if any, goes into the prompt\nif [ -z \"${debian_chroot:-}\" ] && [ -r /etc/debian_chroot ]; then\n    debian_chroot=$(cat /etc/debian_chroot)\nfi\n\n# a coloured prompt on terminals that have colours\ncase \"$TERM\" in\n    xterm-color|*-256color) color_prompt=yes;;\nesac\n\nif [ \"$color_prompt\" = yes ]; then\n    PS1='${debian_chroot:+($debian_chroot)}\\[\\033[01;32m\\]\\u@\\h\\[\\033[00m\\]:\\[\\033[01;34m\\]\\w\\[\\033[00m\\]\\$ '\nelse\n    PS1='${debian_chroot:+($debian_chroot)}\\u@\\h:\\w\\$ '\nfi\nunset color_prompt\n\n# xterm: user@host:dir in the title\ncase \"$TERM\" in\nxterm*|rxvt*)\n    PS1=\"\\[\\e]0;${debian_chroot:+($debian_chroot)}\\u@\\h: \\w\\a\\]$PS1\"\n    ;;\nesac\n\n"
    };
}

const DEBIAN_BASHRC: &str = concat!(
    bashrc_head!(),
    "# colours for ls (grep can have them too)\nif [ -x /usr/bin/dircolors ]; then\n    test -r ~/.dircolors && eval \"$(dircolors -b ~/.dircolors)\" || eval \"$(dircolors -b)\"\n    alias ls='ls --color=auto'\n    #alias grep='grep --color=auto'\nfi\n\n# shorter listings, if wanted\n#alias ll='ls -l'\n#alias la='ls -A'\n#alias l='ls -CF'\n\n",
    "# completion, unless /etc/bash.bashrc already turned it on\nif ! shopt -oq posix; then\n  if [ -f /usr/share/bash-completion/bash_completion ]; then\n    . /usr/share/bash-completion/bash_completion\n  elif [ -f /etc/bash_completion ]; then\n    . /etc/bash_completion\n  fi\nfi\n"
);

const UBUNTU_BASHRC: &str = concat!(
    bashrc_head!(),
    "# colours for ls and grep\nif [ -x /usr/bin/dircolors ]; then\n    test -r ~/.dircolors && eval \"$(dircolors -b ~/.dircolors)\" || eval \"$(dircolors -b)\"\n    alias ls='ls --color=auto'\n    alias grep='grep --color=auto'\nfi\n\n# shorter listings\nalias ll='ls -alF'\nalias la='ls -A'\nalias l='ls -CF'\n\n# aliases of one's own\nif [ -f ~/.bash_aliases ]; then\n    . ~/.bash_aliases\nfi\n\n",
    "# completion, unless /etc/bash.bashrc already turned it on\nif ! shopt -oq posix; then\n  if [ -f /usr/share/bash-completion/bash_completion ]; then\n    . /usr/share/bash-completion/bash_completion\n  elif [ -f /etc/bash_completion ]; then\n    . /etc/bash_completion\n  fi\nfi\n"
);

const ROOT_BASHRC: &str = "# ~/.bashrc: run by bash for non-login shells.\n\n# Uncomment for coloured ls output:\n# export LS_OPTIONS='--color=auto'\n# eval \"$(dircolors)\"\n# alias ls='ls $LS_OPTIONS'\n# alias ll='ls $LS_OPTIONS -l'\n# alias l='ls $LS_OPTIONS -lA'\n#\n# Ask before overwriting or removing:\n# alias rm='rm -i'\n# alias cp='cp -i'\n# alias mv='mv -i'\n";

const ROOT_PROFILE: &str = "# ~/.profile: run by login shells.\n\nif [ \"$BASH\" ]; then\n  if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\n  fi\nfi\n\nmesg n 2> /dev/null || true\n";

/// What a new user's home gets from Debian's `/etc/skel`.
pub const DEBIAN_SKEL: &[(&str, &str)] = &[
    (".bash_logout", BASH_LOGOUT),
    (".bashrc", DEBIAN_BASHRC),
    (".profile", PROFILE),
];

/// What root's home has on a fresh Debian: its `.bashrc` sets no aliases.
pub const DEBIAN_ROOT_DOTFILES: &[(&str, &str)] =
    &[(".bashrc", ROOT_BASHRC), (".profile", ROOT_PROFILE)];

/// The aliases a Debian user's `.bashrc` sets (root's none).
pub const DEBIAN_ALIASES: &[(&str, &str)] = &[("ls", "ls --color=auto")];

/// Ubuntu's `/etc/skel`.
pub const UBUNTU_SKEL: &[(&str, &str)] = &[
    (".bash_logout", BASH_LOGOUT),
    (".bashrc", UBUNTU_BASHRC),
    (".profile", PROFILE),
];

/// Ubuntu's root starts with the same `.bashrc` as its users.
pub const UBUNTU_ROOT_DOTFILES: &[(&str, &str)] =
    &[(".bashrc", UBUNTU_BASHRC), (".profile", ROOT_PROFILE)];

/// The aliases Ubuntu's `.bashrc` sets, for root too.
pub const UBUNTU_ALIASES: &[(&str, &str)] = &[
    ("ls", "ls --color=auto"),
    ("grep", "grep --color=auto"),
    ("ll", "ls -alF"),
    ("la", "ls -A"),
    ("l", "ls -CF"),
];

/// Folders a fresh Debian 12 server has under `/etc`, `/usr` and `/var` (`/var/lock` and
/// `/var/run` are links into `/run`).
pub const DEBIAN_DIRS: &[&str] = &[
    "/etc/alternatives",
    "/etc/apparmor.d",
    "/etc/apt",
    "/etc/bash_completion.d",
    "/etc/binfmt.d",
    "/etc/ca-certificates",
    "/etc/cron.d",
    "/etc/cron.daily",
    "/etc/cron.hourly",
    "/etc/cron.monthly",
    "/etc/cron.weekly",
    "/etc/cron.yearly",
    "/etc/default",
    "/etc/dhcp",
    "/etc/dpkg",
    "/etc/init.d",
    "/etc/iproute2",
    "/etc/kernel",
    "/etc/ld.so.conf.d",
    "/etc/logrotate.d",
    "/etc/modprobe.d",
    "/etc/modules-load.d",
    "/etc/network",
    "/etc/opt",
    "/etc/pam.d",
    "/etc/profile.d",
    "/etc/python3",
    "/etc/rc0.d",
    "/etc/rc1.d",
    "/etc/rc2.d",
    "/etc/rc3.d",
    "/etc/rc4.d",
    "/etc/rc5.d",
    "/etc/rc6.d",
    "/etc/rcS.d",
    "/etc/security",
    "/etc/selinux",
    "/etc/skel",
    "/etc/ssh",
    "/etc/ssl",
    "/etc/sysctl.d",
    "/etc/systemd",
    "/etc/terminfo",
    "/etc/tmpfiles.d",
    "/etc/udev",
    "/etc/update-motd.d",
    "/etc/vim",
    "/etc/xdg",
    "/usr/games",
    "/usr/include",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/libx32",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/tmp",
];

/// The same for Ubuntu 24.04 server.
pub const UBUNTU_DIRS: &[&str] = &[
    "/etc/alternatives",
    "/etc/apparmor.d",
    "/etc/apport",
    "/etc/apt",
    "/etc/bash_completion.d",
    "/etc/binfmt.d",
    "/etc/ca-certificates",
    "/etc/cloud",
    "/etc/cron.d",
    "/etc/cron.daily",
    "/etc/cron.hourly",
    "/etc/cron.monthly",
    "/etc/cron.weekly",
    "/etc/cron.yearly",
    "/etc/default",
    "/etc/dhcp",
    "/etc/dpkg",
    "/etc/init.d",
    "/etc/iproute2",
    "/etc/kernel",
    "/etc/landscape",
    "/etc/ld.so.conf.d",
    "/etc/logrotate.d",
    "/etc/modprobe.d",
    "/etc/modules-load.d",
    "/etc/netplan",
    "/etc/network",
    "/etc/opt",
    "/etc/pam.d",
    "/etc/polkit-1",
    "/etc/profile.d",
    "/etc/python3",
    "/etc/rc0.d",
    "/etc/rc1.d",
    "/etc/rc2.d",
    "/etc/rc3.d",
    "/etc/rc4.d",
    "/etc/rc5.d",
    "/etc/rc6.d",
    "/etc/rcS.d",
    "/etc/security",
    "/etc/selinux",
    "/etc/skel",
    "/etc/ssh",
    "/etc/ssl",
    "/etc/sudoers.d",
    "/etc/sysctl.d",
    "/etc/systemd",
    "/etc/terminfo",
    "/etc/tmpfiles.d",
    "/etc/udev",
    "/etc/ufw",
    "/etc/update-manager",
    "/etc/update-motd.d",
    "/etc/vim",
    "/etc/xdg",
    "/usr/games",
    "/usr/include",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var/backups",
    "/var/cache",
    "/var/crash",
    "/var/lib",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/snap",
    "/var/spool",
    "/var/tmp",
];

/// `/etc/shells` with bash and dash, as both distributions install them.
const SHELLS: &str = "# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n/bin/dash\n/usr/bin/dash\n";

/// Other files of a fresh Debian 12 under `/etc`. `{root_uuid}` and `{machine_id}` are
/// filled in per host. No swap: `free` shows none.
pub const DEBIAN_FILES: &[(&str, &str)] = &[
    ("/etc/shells", SHELLS),
    ("/etc/timezone", "Etc/UTC\n"),
    ("/etc/machine-id", "{machine_id}\n"),
    (
        "/etc/fstab",
        "# static file system information, see fstab(5)\n#\n# <file system> <mount point>   <type>  <options>       <dump>  <pass>\nUUID={root_uuid} /               ext4    errors=remount-ro 0       1\n",
    ),
];

/// The same for Ubuntu 24.04; its `/etc/resolv.conf` is systemd-resolved's stub (a link).
pub const UBUNTU_FILES: &[(&str, &str)] = &[
    ("/etc/shells", SHELLS),
    ("/etc/timezone", "Etc/UTC\n"),
    ("/etc/machine-id", "{machine_id}\n"),
    (
        "/etc/fstab",
        "# /etc/fstab: static file system information.\n# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n/dev/disk/by-uuid/{root_uuid} / ext4 defaults 0 1\n",
    ),
    (
        "/etc/resolv.conf",
        "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
    ),
];

/// Links both distributions have outside `/` and `/usr/bin`: (path, target).
pub const DEBIAN_LINKS: &[(&str, &str)] = &[
    ("/etc/os-release", "../usr/lib/os-release"),
    ("/var/lock", "/run/lock"),
    ("/var/run", "/run"),
];

/// Ubuntu's, with systemd-resolved's stub resolver.
pub const UBUNTU_LINKS: &[(&str, &str)] = &[
    ("/etc/os-release", "../usr/lib/os-release"),
    (
        "/etc/resolv.conf",
        "../run/systemd/resolve/stub-resolv.conf",
    ),
    ("/var/lock", "/run/lock"),
    ("/var/run", "/run"),
];

/// The kernel's threads `ps aux` lists on a 2-processor KVM guest of Debian 12's 6.1
/// kernel, after the boot: (pid, state, name).
pub const DEBIAN_KTHREADS: &[(u32, &str, &str)] = &[
    (2, "S", "kthreadd"),
    (3, "I<", "rcu_gp"),
    (4, "I<", "rcu_par_gp"),
    (5, "I<", "slub_flushwq"),
    (6, "I<", "netns"),
    (8, "I<", "kworker/0:0H-events_highpri"),
    (10, "I<", "mm_percpu_wq"),
    (11, "I", "rcu_tasks_kthread"),
    (12, "I", "rcu_tasks_rude_kthread"),
    (13, "I", "rcu_tasks_trace_kthread"),
    (14, "S", "ksoftirqd/0"),
    (15, "I", "rcu_preempt"),
    (16, "S", "migration/0"),
    (18, "S", "cpuhp/0"),
    (19, "S", "cpuhp/1"),
    (20, "S", "migration/1"),
    (21, "S", "ksoftirqd/1"),
    (23, "I<", "kworker/1:0H-events_highpri"),
    (26, "S", "kdevtmpfs"),
    (27, "I<", "inet_frag_wq"),
    (28, "S", "kauditd"),
    (29, "S", "khungtaskd"),
    (30, "S", "oom_reaper"),
    (32, "I<", "writeback"),
    (33, "S", "kcompactd0"),
    (34, "SN", "ksmd"),
    (35, "SN", "khugepaged"),
    (36, "I<", "kintegrityd"),
    (37, "I<", "kblockd"),
    (38, "I<", "blkcg_punt_bio"),
    (39, "I<", "tpm_dev_wq"),
    (40, "I<", "edac-poller"),
    (41, "I<", "devfreq_wq"),
    (43, "I<", "kworker/1:1H-kblockd"),
    (44, "S", "kswapd0"),
    (51, "I<", "kthrotld"),
    (53, "I<", "acpi_thermal_pm"),
    (55, "I<", "mld"),
    (56, "I<", "ipv6_addrconf"),
    (61, "I<", "kstrp"),
    (67, "I<", "zswap-shrink"),
    (112, "I<", "ata_sff"),
    (113, "S", "scsi_eh_0"),
    (114, "I<", "scsi_tmf_0"),
    (116, "S", "scsi_eh_1"),
    (117, "I<", "scsi_tmf_1"),
    (160, "I<", "kworker/0:1H-kblockd"),
    (186, "S", "jbd2/vda1-8"),
    (187, "I<", "ext4-rsv-conver"),
];

/// The same for Ubuntu 24.04's 6.8 kernel, whose workqueue rescuers are named
/// `kworker/R-…`.
pub const UBUNTU_KTHREADS: &[(u32, &str, &str)] = &[
    (2, "S", "kthreadd"),
    (3, "S", "pool_workqueue_release"),
    (4, "I<", "kworker/R-rcu_g"),
    (5, "I<", "kworker/R-rcu_p"),
    (6, "I<", "kworker/R-slub_"),
    (7, "I<", "kworker/R-netns"),
    (9, "I<", "kworker/0:0H-events_highpri"),
    (12, "I<", "kworker/R-mm_pe"),
    (13, "I", "rcu_tasks_kthread"),
    (14, "I", "rcu_tasks_rude_kthread"),
    (15, "I", "rcu_tasks_trace_kthread"),
    (16, "S", "ksoftirqd/0"),
    (17, "I", "rcu_preempt"),
    (18, "S", "migration/0"),
    (19, "S", "idle_inject/0"),
    (20, "S", "cpuhp/0"),
    (21, "S", "cpuhp/1"),
    (22, "S", "idle_inject/1"),
    (23, "S", "migration/1"),
    (24, "S", "ksoftirqd/1"),
    (26, "I<", "kworker/1:0H-events_highpri"),
    (27, "S", "kdevtmpfs"),
    (28, "I<", "kworker/R-inet_"),
    (29, "S", "kauditd"),
    (31, "S", "khungtaskd"),
    (32, "S", "oom_reaper"),
    (34, "I<", "kworker/R-write"),
    (35, "S", "kcompactd0"),
    (36, "SN", "ksmd"),
    (37, "SN", "khugepaged"),
    (38, "I<", "kworker/R-kinte"),
    (39, "I<", "kworker/R-kbloc"),
    (40, "I<", "kworker/R-blkcg"),
    (41, "S", "irq/9-acpi"),
    (44, "I<", "kworker/R-tpm_d"),
    (45, "I<", "kworker/R-ata_s"),
    (46, "I<", "kworker/R-md"),
    (47, "I<", "kworker/R-md_bi"),
    (48, "I<", "kworker/R-edac-"),
    (49, "I<", "kworker/R-devfr"),
    (50, "S", "watchdogd"),
    (52, "I<", "kworker/1:1H-kblockd"),
    (53, "S", "kswapd0"),
    (54, "S", "ecryptfs-kthread"),
    (55, "I<", "kworker/R-kthro"),
    (62, "I<", "kworker/R-acpi_"),
    (65, "I<", "kworker/R-mld"),
    (66, "I<", "kworker/R-ipv6_"),
    (73, "I<", "kworker/R-kstrp"),
    (88, "I<", "kworker/R-charg"),
    (115, "I<", "kworker/0:1H-kblockd"),
    (147, "S", "scsi_eh_0"),
    (148, "I<", "kworker/R-scsi_"),
    (190, "S", "jbd2/vda1-8"),
    (191, "I<", "kworker/R-ext4-"),
];
