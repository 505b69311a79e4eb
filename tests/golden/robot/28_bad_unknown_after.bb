s1 = pick(object=red_cup) after s7;
