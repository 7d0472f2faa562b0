/* ctl.h - what the infoviewctl command files share. */
#ifndef IV_CTL_H
#define IV_CTL_H
#endif
